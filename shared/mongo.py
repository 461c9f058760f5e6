"""MongoDB plumbing through PyMongo's async API (``AsyncMongoClient``).

Code stays within what both MongoDB and FerretDB v1 (the local stand-in) support: no multi-document
transactions, no change streams, no pipeline-style updates. Idempotence comes from conditional
single-document writes instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from pymongo import AsyncMongoClient, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, OperationFailure

from shared.config import InfraSettings

log = logging.getLogger(__name__)

Document = dict[str, Any]


def make_client(
    settings: InfraSettings, app_name: str = "whatsapp-inbox", **overrides: Any
) -> AsyncMongoClient[Document]:
    """A client that fails fast when the server is unreachable (5 s), with tz-aware datetimes."""
    options: dict[str, Any] = {
        "appname": app_name,
        "serverSelectionTimeoutMS": 5000,
        "connectTimeoutMS": 5000,
        "tz_aware": True,
    }
    options.update(overrides)
    return AsyncMongoClient(settings.mongodb_uri, **options)


def database(
    client: AsyncMongoClient[Document], settings: InfraSettings
) -> AsyncDatabase[Document]:
    return client[settings.mongodb_database]


async def ping(client: AsyncMongoClient[Document]) -> None:
    await client.admin.command("ping")


async def answers(client: AsyncMongoClient[Document], timeout_seconds: float = 2.0) -> bool:
    """True while the database answers a ping in time (readiness)."""
    try:
        await asyncio.wait_for(ping(client), timeout_seconds)
    except Exception:
        return False
    return True


async def ensure_indexes(
    db: AsyncDatabase[Document], indexes: Mapping[str, Sequence[IndexModel]]
) -> None:
    """Create each collection's missing indexes, by name.

    Only names the collection lacks are sent: FerretDB v1 drops the connection when asked to
    re-create an existing compound index, and several services declare some of the same ones.
    Changing an index's keys therefore needs a new name."""
    for collection, models in indexes.items():
        if not models:
            continue
        existing = {index["name"] async for index in await db[collection].list_indexes()}
        missing = [m for m in models if m.document["name"] not in existing]
        if not missing:
            continue
        try:
            await db[collection].create_indexes(missing)
        except OperationFailure as exc:
            # An index with the same name but other options: say which, loudly.
            raise RuntimeError(f"cannot create indexes on {collection}: {exc}") from exc


DUPLICATE_KEY = 11000


async def insert_absent(
    collection: AsyncCollection[Document], docs: Sequence[Document]
) -> set[str]:
    """Insert each document unless its ``_id`` exists (another writer was first: kept as is);
    returns the ids that already existed. One unordered bulk insert."""
    if not docs:
        return set()
    try:
        await collection.insert_many(list(docs), ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if not errors or any(e.get("code") != DUPLICATE_KEY for e in errors):
            raise
        return {str(docs[e["index"]]["_id"]) for e in errors}
    return set()
