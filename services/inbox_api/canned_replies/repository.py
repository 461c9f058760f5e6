"""The canned replies' MongoDB code: owns ``canned_replies`` (shortcuts unique per tenant by the
index that also serves the list and the composer's prefix), reads a conversation's contact."""

from __future__ import annotations

import re
from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.inbox_api.canned_replies.ports import DuplicateShortcut
from shared.mongo import ensure_indexes
from shared.read_model import CANNED_REPLIES, CANNED_REPLIES_COLLECTION, CONVERSATIONS_COLLECTION

Document = dict[str, Any]
LIST_LIMIT = 500

INDEXES: dict[str, list[IndexModel]] = {
    CANNED_REPLIES_COLLECTION: [IndexModel([("tenant_id", ASCENDING), ("shortcut", ASCENDING)],
                                           name="tenant_shortcut", unique=True)],
}


class MongoCannedReplyStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db

    async def ensure_indexes(self) -> None:
        await ensure_indexes(self.db, INDEXES)

    async def replies(self, tenant_id: str, prefix: str) -> list[Document]:
        query: Document = {"tenant_id": tenant_id}
        if prefix:
            query["shortcut"] = {"$regex": f"^{re.escape(prefix)}"}
        cursor = (self.db[CANNED_REPLIES_COLLECTION].find(query)
                  .sort(CANNED_REPLIES.sort_spec).limit(LIST_LIMIT))
        return await cursor.to_list(None)

    async def reply(self, tenant_id: str, reply_id: str) -> Document | None:
        return await self.db[CANNED_REPLIES_COLLECTION].find_one(
            {"_id": reply_id, "tenant_id": tenant_id})

    async def add(self, doc: Document) -> None:
        try:
            await self.db[CANNED_REPLIES_COLLECTION].insert_one(doc)
        except DuplicateKeyError:
            raise DuplicateShortcut(doc["shortcut"]) from None

    async def update(self, tenant_id: str, reply_id: str, fields: Document) -> Document | None:
        try:
            return await self.db[CANNED_REPLIES_COLLECTION].find_one_and_update(
                {"_id": reply_id, "tenant_id": tenant_id}, {"$set": fields},
                return_document=ReturnDocument.AFTER)
        except DuplicateKeyError:
            raise DuplicateShortcut(str(fields.get("shortcut"))) from None

    async def delete(self, tenant_id: str, reply_id: str) -> bool:
        result = await self.db[CANNED_REPLIES_COLLECTION].delete_one(
            {"_id": reply_id, "tenant_id": tenant_id})
        return bool(result.deleted_count)

    async def conversation(self, tenant_id: str, conversation_id: str) -> Document | None:
        return await self.db[CONVERSATIONS_COLLECTION].find_one(
            {"_id": conversation_id, "tenant_id": tenant_id},
            {"contact_name": 1, "customer_wa_id": 1})
