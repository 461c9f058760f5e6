"""On a real MongoDB, ``explain`` confirms what tests/unit/shared/test_query_indexes.py proves on
paper: each declared hot query (shared/read_model.py) is an index scan with no SORT stage.

FerretDB (the local stand-in) ignores secondary indexes, so there the test skips: it runs where
``MONGODB_URI`` names a real mongod, or where the test stack is one (a mongod on PATH, or
testcontainers' ``mongo`` image). The query is built from its declaration (equality values,
range bounds, residual filters, the declared sort), explained once hinted to the declared index
(that index serves it without a SORT: the equality-sort-range claim) and once as the planner
chooses (an index, never a collection scan).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from services.conversation_store.adapters.mongo import INDEXES as STORE_INDEXES
from services.conversation_store.adapters.mongo_templates import INDEXES as TEMPLATE_INDEXES
from services.inbox_api.accounts.repository import INDEXES as INBOX_INDEXES
from shared.campaigns import CAMPAIGN_INDEXES
from shared.mongo import ensure_indexes
from shared.read_model import ANY, HOT_QUERIES, QueryShape
from shared.templates import TEMPLATES_COLLECTION

pytestmark = pytest.mark.integration

Document = dict[str, Any]
INDEX_SCANS = frozenset({"IXSCAN", "EXPRESS_IXSCAN", "IDHACK", "DISTINCT_SCAN"})


def is_ferretdb(build_info: Document) -> bool:
    return "ferretdbVersion" in build_info or "ferretdb" in str(build_info.get("version", ""))


@pytest.fixture(scope="module")
async def real_mongo(request: pytest.FixtureRequest) -> AsyncIterator[AsyncDatabase[Document]]:
    uri = os.environ.get("MONGODB_URI") or request.getfixturevalue("infra").mongodb_uri
    client: AsyncMongoClient[Document] = AsyncMongoClient(uri, serverSelectionTimeoutMS=10000)
    try:
        info = await client.admin.command("buildInfo")
        if is_ferretdb(info):
            pytest.skip(f"the MongoDB-wire server is FerretDB {info.get('ferretdbVersion')}, "
                        "which ignores secondary indexes: explain needs a real mongod "
                        "(set MONGODB_URI, or run with Docker)")
        name = f"explain{uuid.uuid4().hex[:12]}"
        db = client[name]
        for indexes in (STORE_INDEXES, {TEMPLATES_COLLECTION: TEMPLATE_INDEXES},
                        CAMPAIGN_INDEXES, INBOX_INDEXES):
            await ensure_indexes(db, indexes)
        for shape in HOT_QUERIES:  # collections with only `_id_` must exist to be explained
            if shape.collection not in await db.list_collection_names():
                await db.create_collection(shape.collection)
        yield db
        await client.drop_database(name)
    finally:
        await client.close()


def query_of(shape: QueryShape) -> Document:
    """A query of the declared shape (values do not matter to the plan's shape)."""
    query: Document = {field: "v" for field in shape.equality}
    for field in shape.range:
        query[field] = {"$gt": "a"}
    for field in shape.residual:
        if field != ANY and field not in query:
            query[field] = {"$exists": True}
    return query


def stages(plan: Any) -> list[Document]:
    """Every stage of a winning plan, whatever the engine's nesting."""
    found: list[Document] = []
    if isinstance(plan, dict):
        if "stage" in plan:
            found.append(plan)
        for key, value in plan.items():
            if key != "rejectedPlans":
                found += stages(value)
    elif isinstance(plan, list):
        for item in plan:
            found += stages(item)
    return found


async def winning_stages(db: AsyncDatabase[Document], shape: QueryShape,
                         hint: str | None) -> list[Document]:
    find: Document = {"find": shape.collection, "filter": query_of(shape), "limit": 50}
    if shape.sort:
        find["sort"] = dict(shape.sort)
    if hint is not None:
        find["hint"] = hint
    answer = await db.command({"explain": find, "verbosity": "queryPlanner"})
    return stages(answer["queryPlanner"]["winningPlan"])


@pytest.mark.parametrize("shape", HOT_QUERIES, ids=lambda s: s.name)
async def test_the_declared_index_serves_the_query_without_a_sort(
        real_mongo: AsyncDatabase[Document], shape: QueryShape) -> None:
    plan = await winning_stages(real_mongo, shape, shape.index)
    names = [s["stage"] for s in plan]
    assert INDEX_SCANS & set(names), f"{shape.name}: {names}"
    assert "SORT" not in names, f"{shape.name}: {names}"
    used = {s.get("indexName") for s in plan if s["stage"] in INDEX_SCANS} - {None}
    assert used <= {shape.index}, f"{shape.name}: {used}"


@pytest.mark.parametrize("shape", HOT_QUERIES, ids=lambda s: s.name)
async def test_the_planner_reads_the_query_by_an_index(
        real_mongo: AsyncDatabase[Document], shape: QueryShape) -> None:
    names = [s["stage"] for s in await winning_stages(real_mongo, shape, None)]
    assert "COLLSCAN" not in names, f"{shape.name}: {names}"
