"""Presence's MongoDB code: owns ``presence`` (one document per tenant, conversation and agent;
``_id`` names all three), reads ``conversations`` (is it the tenant's).

Expired entries are filtered by ``expires_at > now`` in every read, never left to a TTL index:
FerretDB has none (v1.24 refuses the option), and MongoDB's TTL monitor runs once a minute. Where
the server takes it, the TTL index only keeps the collection small; a heartbeat also sweeps its
conversation's expired entries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from services.inbox_api.presence.views import presence_id
from shared.mongo import ensure_indexes
from shared.read_model import CONVERSATIONS_COLLECTION, PRESENCE_COLLECTION

Document = dict[str, Any]

INDEXES: dict[str, list[IndexModel]] = {
    PRESENCE_COLLECTION: [IndexModel([("tenant_id", ASCENDING), ("conversation_id", ASCENDING),
                                      ("expires_at", ASCENDING)], name="conversation_expires")],
}
PRESENCE_TTL = IndexModel([("expires_at", ASCENDING)], name="expires_at_ttl",
                          expireAfterSeconds=0)
NOT_IMPLEMENTED = 238


class MongoPresenceRepository:
    """Presence entries of conversations."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db

    async def ensure_indexes(self) -> None:
        await ensure_indexes(self.db, INDEXES)
        collection = self.db[PRESENCE_COLLECTION]
        existing = {ix["name"] async for ix in await collection.list_indexes()}
        if PRESENCE_TTL.document["name"] in existing:
            return
        try:
            await collection.create_indexes([PRESENCE_TTL])
        except OperationFailure as exc:
            if exc.code != NOT_IMPLEMENTED:  # FerretDB: reads filter by expires_at anyway
                raise

    async def conversation_exists(self, tenant_id: str, conversation_id: str) -> bool:
        doc = await self.db[CONVERSATIONS_COLLECTION].find_one(
            {"_id": conversation_id, "tenant_id": tenant_id}, {"_id": 1})
        return doc is not None

    async def entry(self, tenant_id: str, conversation_id: str,
                    agent_id: str) -> Document | None:
        return await self.db[PRESENCE_COLLECTION].find_one(
            {"_id": presence_id(tenant_id, conversation_id, agent_id)})

    async def put(self, doc: Document) -> None:
        await self.db[PRESENCE_COLLECTION].replace_one({"_id": doc["_id"]}, doc, upsert=True)

    async def remove(self, tenant_id: str, conversation_id: str, agent_id: str) -> None:
        await self.db[PRESENCE_COLLECTION].delete_one(
            {"_id": presence_id(tenant_id, conversation_id, agent_id)})

    async def present(self, tenant_id: str, conversation_id: str,
                      now: datetime) -> list[Document]:
        cursor = self.db[PRESENCE_COLLECTION].find(
            {"tenant_id": tenant_id, "conversation_id": conversation_id,
             "expires_at": {"$gt": now}})
        return await cursor.to_list(None)

    async def sweep(self, tenant_id: str, conversation_id: str, now: datetime) -> None:
        await self.db[PRESENCE_COLLECTION].delete_many(
            {"tenant_id": tenant_id, "conversation_id": conversation_id,
             "expires_at": {"$lte": now}})
