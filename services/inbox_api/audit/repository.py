"""The audit log's MongoDB code: owns ``audit_log`` and its indexes (shared/read_model.py
``AUDIT_LOG*``). Entries are only inserted, never changed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from services.inbox_api.audit.ports import AuditQuery
from shared.mongo import ensure_indexes
from shared.read_model import AUDIT_LOG, AUDIT_LOG_COLLECTION

Document = dict[str, Any]
_NEWEST = [("at", DESCENDING), ("_id", DESCENDING)]

INDEXES: dict[str, list[IndexModel]] = {
    AUDIT_LOG_COLLECTION: [
        IndexModel([("tenant_id", ASCENDING), *_NEWEST], name="tenant_at"),
        IndexModel([("tenant_id", ASCENDING), ("agent_id", ASCENDING), *_NEWEST],
                   name="tenant_agent_at"),
        IndexModel([("tenant_id", ASCENDING), ("action", ASCENDING), *_NEWEST],
                   name="tenant_action_at"),
    ],
}


class MongoAuditStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db

    async def ensure_indexes(self) -> None:
        await ensure_indexes(self.db, INDEXES)

    async def add_many(self, docs: Sequence[Document]) -> None:
        await self.db[AUDIT_LOG_COLLECTION].insert_many(list(docs), ordered=False)

    async def entry(self, tenant_id: str, entry_id: str) -> Document | None:
        return await self.db[AUDIT_LOG_COLLECTION].find_one({"_id": entry_id,
                                                             "tenant_id": tenant_id})

    async def entries(self, tenant_id: str, query: AuditQuery, limit: int) -> list[Document]:
        """Newest first; the agent filter picks ``tenant_agent_at`` (the action is then
        residual), the action alone ``tenant_action_at``, neither ``tenant_at``."""
        find: Document = {"tenant_id": tenant_id}
        if query.agent_id is not None:
            find["agent_id"] = query.agent_id
        if query.action is not None:
            find["action"] = query.action
        at: Document = {}
        if query.since is not None:
            at["$gte"] = query.since
        if query.until is not None:
            at["$lt"] = query.until
        if at:
            find["at"] = at
        if query.after is not None:
            after_at, after_id = query.after
            find["$or"] = [{"at": {"$lt": after_at}}, {"at": after_at, "_id": {"$lt": after_id}}]
        cursor = (self.db[AUDIT_LOG_COLLECTION].find(find).sort(AUDIT_LOG.sort_spec)
                  .limit(limit))
        return await cursor.to_list(None)
