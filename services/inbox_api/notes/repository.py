"""The notes' MongoDB code: owns ``notes`` (and its index) and ``mentions`` (one document per
tenant, agent and conversation while a mention is unread: ``_id`` names all three, so a list
page's markers are one ``_id $in``), reads ``conversations`` (is it the tenant's)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from shared.mongo import ensure_indexes
from shared.read_model import (
    CONVERSATIONS_COLLECTION,
    MENTIONS_COLLECTION,
    NOTES_COLLECTION,
    NOTES_OF_CONVERSATION,
)

Document = dict[str, Any]

INDEXES: dict[str, list[IndexModel]] = {
    NOTES_COLLECTION: [IndexModel([("tenant_id", ASCENDING), ("conversation_id", ASCENDING),
                                   ("created_at", ASCENDING), ("_id", ASCENDING)],
                                  name="conversation_created")],
}


def mention_id(tenant_id: str, agent_id: str, conversation_id: str) -> str:
    return f"{tenant_id}|{agent_id}|{conversation_id}"


class MongoNoteRepository:
    """Notes and unread mentions."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db

    async def ensure_indexes(self) -> None:
        await ensure_indexes(self.db, INDEXES)

    async def conversation_exists(self, tenant_id: str, conversation_id: str) -> bool:
        doc = await self.db[CONVERSATIONS_COLLECTION].find_one(
            {"_id": conversation_id, "tenant_id": tenant_id}, {"_id": 1})
        return doc is not None

    async def add(self, doc: Document) -> None:
        await self.db[NOTES_COLLECTION].insert_one(doc)

    async def notes(self, tenant_id: str, conversation_id: str, limit: int) -> list[Document]:
        cursor = (self.db[NOTES_COLLECTION]
                  .find({"tenant_id": tenant_id, "conversation_id": conversation_id})
                  .sort(NOTES_OF_CONVERSATION.sort_spec).limit(limit))
        return await cursor.to_list(None)

    async def mention(self, tenant_id: str, agent_ids: Sequence[str], conversation_id: str,
                      note_id: str, at: datetime) -> None:
        for agent_id in agent_ids:
            await self.db[MENTIONS_COLLECTION].update_one(
                {"_id": mention_id(tenant_id, agent_id, conversation_id)},
                {"$set": {"tenant_id": tenant_id, "agent_id": agent_id,
                          "conversation_id": conversation_id, "note_id": note_id, "at": at},
                 "$inc": {"count": 1}},
                upsert=True)

    async def unread_mentions(self, tenant_id: str, agent_id: str,
                              conversation_ids: Sequence[str]) -> dict[str, int]:
        if not conversation_ids:
            return {}
        ids = [mention_id(tenant_id, agent_id, c) for c in conversation_ids]
        cursor = self.db[MENTIONS_COLLECTION].find({"_id": {"$in": ids}},
                                                   {"conversation_id": 1, "count": 1})
        return {d["conversation_id"]: int(d.get("count") or 0) async for d in cursor}

    async def clear_mentions(self, tenant_id: str, agent_id: str,
                             conversation_id: str) -> None:
        await self.db[MENTIONS_COLLECTION].delete_one(
            {"_id": mention_id(tenant_id, agent_id, conversation_id)})
