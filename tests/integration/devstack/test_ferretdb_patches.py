"""The local FerretDB build's source patches (devstack/mongo.py, docs/infrastructure.md).

These run against a server of their own, not the session's: before the patches, the first test
hung the whole server, and every later request with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from pymongo import DeleteOne, MongoClient, UpdateOne

from devstack.ferretdb_patches import (
    FERRETDB_PATCHES,
    SourcePatch,
    apply_patches,
    patch_set_stamp,
)
from devstack.mongo import MongoServer
from devstack.paths import SetupError

pytestmark = pytest.mark.integration

STATEMENTS = 150  # upstream hung from 100 statements on (its SQLite pool holds 100 connections)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MongoServer]:
    server = MongoServer(tmp_path_factory.mktemp("ferretdb-patches"))
    try:
        server.start()
        server.wait_ready()
    except SetupError as exc:
        server.stop()
        pytest.skip(f"no local MongoDB-wire server to start: {exc}")
    yield server
    server.stop()


@pytest.fixture
def client(server: MongoServer) -> Iterator[MongoClient[dict[str, Any]]]:
    # A bounded timeout turns a hung server into a failure instead of a stuck session.
    client: MongoClient[dict[str, Any]] = MongoClient(server.uri, timeoutMS=20_000)
    yield client
    client.close()


def test_a_bulk_update_of_150_statements_completes_and_the_server_keeps_answering(
    client: MongoClient[dict[str, Any]],
) -> None:
    coll = client["patches"]["bulk_update"]
    coll.insert_many([{"_id": f"d{i}", "n": i} for i in range(STATEMENTS + 10)])

    result = coll.bulk_write(
        [UpdateOne({"_id": f"d{i}"}, {"$set": {"seen": True}}) for i in range(STATEMENTS)]
        + [UpdateOne({"_id": "new"}, {"$set": {"n": -1}}, upsert=True)],
        ordered=False,
    )

    assert result.matched_count == STATEMENTS
    assert result.modified_count == STATEMENTS
    assert result.upserted_count == 1
    assert coll.count_documents({"seen": True}) == STATEMENTS
    assert coll.find_one({"_id": "d149"}) == {"_id": "d149", "n": 149, "seen": True}


def test_a_bulk_delete_of_150_statements_completes(client: MongoClient[dict[str, Any]]) -> None:
    coll = client["patches"]["bulk_delete"]
    coll.insert_many([{"_id": f"d{i}"} for i in range(STATEMENTS + 10)])

    result = coll.bulk_write([DeleteOne({"_id": f"d{i}"}) for i in range(STATEMENTS)])

    assert result.deleted_count == STATEMENTS
    assert sorted(doc["_id"] for doc in coll.find({})) == sorted(
        f"d{i}" for i in range(STATEMENTS, STATEMENTS + 10)
    )


def test_an_id_lookup_searches_the_id_index(
    server: MongoServer, client: MongoClient[dict[str, Any]]
) -> None:
    if server.engine != "ferretdb":
        pytest.skip("the SQLite query plan is FerretDB's; mongod always uses its _id index")
    db = client["patches"]
    db["by_id"].insert_many([{"_id": f"d{i}"} for i in range(20)])

    plan = db.command("explain", {"find": "by_id", "filter": {"_id": "d7"}})
    steps = " ".join(plan["queryPlanner"]["Plan"])

    # Unpatched, the plan reads "SCAN <table>": the whole table for one document.
    assert "SEARCH" in steps
    assert "USING INDEX" in steps
    assert "__id_" in steps
    assert db["by_id"].find_one({"_id": "d7"}) == {"_id": "d7"}
    assert db["by_id"].find_one({"_id": "absent"}) is None


def test_an_id_in_searches_the_id_index_and_other_ins_still_answer_right(
    server: MongoServer, client: MongoClient[dict[str, Any]]
) -> None:
    if server.engine != "ferretdb":
        pytest.skip("the SQLite query plan is FerretDB's")
    db = client["patches"]
    oid = ObjectId()
    db["by_ids"].insert_many([{"_id": f"d{i}"} for i in range(20)] + [{"_id": oid}, {"_id": 7}])

    def plan(query: dict[str, Any]) -> str:
        return " ".join(
            db.command("explain", {"find": "by_ids", "filter": query})["queryPlanner"]["Plan"]
        )

    def found(query: dict[str, Any]) -> list[str]:
        return sorted(str(doc["_id"]) for doc in db["by_ids"].find(query))

    pushed = {"_id": {"$in": ["d3", "d5", "absent", oid]}}
    assert "USING INDEX" in plan(pushed)
    assert found(pushed) == sorted(["d3", "d5", str(oid)])
    mixed = {"_id": {"$in": ["d3", 7]}}  # a number: left to the handler's filter, still right
    assert "SCAN" in plan(mixed)
    assert found(mixed) == ["7", "d3"]
    assert found({"_id": {"$in": []}}) == []
    assert found({"_id": {"$in": ["d3", "d4"], "$ne": "d3"}}) == ["d4"]
    assert db["by_ids"].delete_many({"_id": {"$in": ["d1", "d2", "absent"]}}).deleted_count == 2
    assert db["by_ids"].count_documents({}) == 20


def test_an_id_condition_narrows_a_larger_filter_and_the_rest_still_applies(
    server: MongoServer, client: MongoClient[dict[str, Any]]
) -> None:
    if server.engine != "ferretdb":
        pytest.skip("the SQLite query plan is FerretDB's")
    db = client["patches"]
    coll = db["narrowed"]
    coll.insert_many([{"_id": f"r{i}", "state": "queued" if i % 2 else "released", "n": i}
                      for i in range(40)])
    ids = [f"r{i}" for i in range(10)]

    def plan(query: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = db.command("explain", {"find": "narrowed", "filter": query})
        return answer

    batch = {"_id": {"$in": ids}, "state": "queued"}
    # Unpatched, any filter with more than the _id condition reads "SCAN <table>".
    narrowed = plan(batch)
    assert "USING INDEX" in " ".join(narrowed["queryPlanner"]["Plan"])
    assert narrowed["filterPushdown"] is False  # partial: the handler applies the rest
    assert plan({"_id": {"$in": ids}})["filterPushdown"] is True
    assert sorted(d["_id"] for d in coll.find(batch)) == ["r1", "r3", "r5", "r7", "r9"]
    assert [d["_id"] for d in coll.find({"_id": "r2", "state": "queued"})] == []
    assert [d["_id"] for d in coll.find({"_id": "r3", "n": {"$gt": 2}})] == ["r3"]

    # The conditional batch update of the campaign dispatcher: only the queued ones move.
    result = coll.update_many(batch, {"$set": {"state": "released"}})
    assert result.matched_count == result.modified_count == 5
    assert coll.count_documents({"state": "queued"}) == 15


def test_single_and_multi_document_updates_keep_their_meaning(
    client: MongoClient[dict[str, Any]],
) -> None:
    coll = client["patches"]["updates"]
    coll.insert_many([{"_id": "a", "n": 1, "k": "x"}, {"_id": "b", "n": 2, "k": "x"}])

    one = coll.update_one({"k": "x"}, {"$inc": {"n": 10}})
    none = coll.update_one({"_id": "absent"}, {"$set": {"n": 0}})
    upsert = coll.update_one({"_id": "c"}, {"$set": {"n": 3}}, upsert=True)
    many = coll.update_many({"k": "x"}, {"$set": {"seen": True}})
    replaced = coll.replace_one({"_id": "b"}, {"n": 20})

    assert (one.matched_count, one.modified_count) == (1, 1)
    assert (none.matched_count, none.upserted_id) == (0, None)
    assert upsert.upserted_id == "c"
    assert (many.matched_count, many.modified_count) == (2, 2)
    assert (replaced.matched_count, replaced.modified_count) == (1, 1)
    assert sorted(doc["n"] for doc in coll.find({})) == [3, 11, 20]
    assert coll.find_one({"_id": "b"}) == {"_id": "b", "n": 20}


def test_a_patch_whose_upstream_text_is_missing_fails_loudly(tmp_path: Path) -> None:
    (tmp_path / "a.go").write_text("x := 1\nx := 1\n")
    missing = SourcePatch(path="a.go", old="y := 2\n", new="y := 3\n", why="test")
    twice = SourcePatch(path="a.go", old="x := 1\n", new="x := 2\n", why="test")

    with pytest.raises(SetupError, match="found it 0 times"):
        apply_patches(tmp_path, (missing,))
    with pytest.raises(SetupError, match="found it 2 times"):
        apply_patches(tmp_path, (twice,))
    assert (tmp_path / "a.go").read_text() == "x := 1\nx := 1\n"


def test_a_patch_applies_once_and_a_changed_patch_set_changes_the_stamp(tmp_path: Path) -> None:
    (tmp_path / "a.go").write_text("a\nx := 1\nb\n")
    patch = SourcePatch(path="a.go", old="x := 1\n", new="x := 2\n", why="t")

    apply_patches(tmp_path, (patch,))

    assert (tmp_path / "a.go").read_text() == "a\nx := 2\nb\n"
    edited = SourcePatch(path="a.go", old="x := 1\n", new="x := 3\n", why="t")
    stamps = {
        patch_set_stamp(FERRETDB_PATCHES),
        patch_set_stamp((*FERRETDB_PATCHES, patch)),
        patch_set_stamp((*FERRETDB_PATCHES, edited)),
    }
    assert len(stamps) == 3
    assert all(stamp.startswith("v1.24.2+devstack.") for stamp in stamps)
