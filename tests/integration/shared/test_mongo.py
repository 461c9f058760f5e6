"""The real MongoDB-wire server: round trips, replayed upserts, idempotent index creation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pymongo import ASCENDING, DESCENDING, IndexModel, UpdateOne
from pymongo.errors import DuplicateKeyError

from shared.mongo import ensure_indexes

pytestmark = pytest.mark.integration

INDEXES = {
    "conversations": [
        IndexModel(
            [("tenant_id", ASCENDING), ("last_activity_at", DESCENDING), ("_id", DESCENDING)],
            name="by_activity",
        ),
    ],
    "messages": [
        IndexModel([("tenant_id", ASCENDING), ("wamid", ASCENDING)], name="by_wamid"),
    ],
}


async def test_a_document_round_trips_with_aware_datetimes(db):
    at = datetime(2026, 11, 25, 9, 30, 15, 123000, tzinfo=UTC)
    doc = {
        "_id": "pn1:1650",
        "tenant_id": "acme",
        "contact": {"name": "Sheena"},
        "at": at,
        "tags": ["vip"],
        "unread": 3,
    }
    await db.conversations.insert_one(doc)
    assert await db.conversations.find_one({"_id": "pn1:1650"}) == doc


async def test_an_upsert_replayed_twice_leaves_one_document(db):
    at = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    op = UpdateOne(
        {"_id": "wamid.1"},
        {
            "$setOnInsert": {"tenant_id": "acme", "first_seen": at},
            "$set": {"status": "delivered"},
            "$max": {"status_rank": 2},
        },
        upsert=True,
    )
    await db.messages.bulk_write([op])
    await db.messages.bulk_write([op])
    docs = await db.messages.find({}).to_list(None)
    assert docs == [
        {
            "_id": "wamid.1",
            "tenant_id": "acme",
            "first_seen": at,
            "status": "delivered",
            "status_rank": 2,
        }
    ]


async def test_a_conditional_upsert_replayed_is_refused_by_the_unique_id(db):
    # "Apply event-1 once": the replay matches nothing, and its insert collides on _id. FerretDB
    # answers a bulk write of this shape without counts (PyMongo then raises KeyError), so
    # conditional upserts go through update_one, where both servers raise DuplicateKeyError.
    query = {"_id": "wamid.2", "applied": {"$ne": "event-1"}}
    update = {"$push": {"applied": "event-1"}, "$inc": {"version": 1}}
    await db.messages.update_one(query, update, upsert=True)
    with pytest.raises(DuplicateKeyError):
        await db.messages.update_one(query, update, upsert=True)
    assert await db.messages.find_one({"_id": "wamid.2"}) == {
        "_id": "wamid.2",
        "applied": ["event-1"],
        "version": 1,
    }


async def test_indexes_are_created_idempotently(db):
    await ensure_indexes(db, INDEXES)
    await ensure_indexes(db, INDEXES)
    names = {i["name"] for i in await (await db.messages.list_indexes()).to_list(None)}
    assert "by_wamid" in names
    names = {i["name"] for i in await (await db.conversations.list_indexes()).to_list(None)}
    assert "by_activity" in names
