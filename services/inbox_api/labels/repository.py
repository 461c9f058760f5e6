"""The labels' MongoDB code: owns ``labels`` and ``conversation_labels`` (and their indexes),
reads ``conversations`` (a conversation exists in the tenant).

A conversation's labels live in ``conversation_labels`` (``_id`` = the conversation's), not on
the conversation document: conversation_store replaces that document whole from its cache, so a
field written beside it would be lost at the next message (docs/inbox-api.md, "Labels"). Label
names are unique per tenant by the unique index that also serves the list.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.inbox_api.labels.ports import DuplicateLabel
from shared.mongo import ensure_indexes
from shared.read_model import (
    CONVERSATION_LABELS_COLLECTION,
    CONVERSATIONS_COLLECTION,
    LABELS_COLLECTION,
    LABELS_OF_TENANT,
)

Document = dict[str, Any]
# A tenant's labels are a short list people pick from; more is a mistake, not a use.
LABELS_LIMIT = 500

INDEXES: dict[str, list[IndexModel]] = {
    LABELS_COLLECTION: [IndexModel([("tenant_id", ASCENDING), ("name_key", ASCENDING)],
                                   name="tenant_name", unique=True)],
    CONVERSATION_LABELS_COLLECTION: [
        IndexModel([("tenant_id", ASCENDING), ("label_ids", ASCENDING)], name="tenant_label")],
}


class MongoLabelStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db

    async def ensure_indexes(self) -> None:
        await ensure_indexes(self.db, INDEXES)

    async def labels(self, tenant_id: str) -> list[Document]:
        cursor = (self.db[LABELS_COLLECTION].find({"tenant_id": tenant_id})
                  .sort(LABELS_OF_TENANT.sort_spec).limit(LABELS_LIMIT))
        return await cursor.to_list(None)

    async def label(self, tenant_id: str, label_id: str) -> Document | None:
        return await self.db[LABELS_COLLECTION].find_one({"_id": label_id,
                                                          "tenant_id": tenant_id})

    async def add_label(self, doc: Document) -> None:
        try:
            await self.db[LABELS_COLLECTION].insert_one(doc)
        except DuplicateKeyError:
            raise DuplicateLabel(doc["name"]) from None

    async def update_label(self, tenant_id: str, label_id: str,
                           fields: Document) -> Document | None:
        try:
            return await self.db[LABELS_COLLECTION].find_one_and_update(
                {"_id": label_id, "tenant_id": tenant_id}, {"$set": fields},
                return_document=ReturnDocument.AFTER)
        except DuplicateKeyError:
            raise DuplicateLabel(str(fields.get("name"))) from None

    async def delete_label(self, tenant_id: str, label_id: str) -> bool:
        result = await self.db[LABELS_COLLECTION].delete_one({"_id": label_id,
                                                              "tenant_id": tenant_id})
        if not result.deleted_count:
            return False
        await self.db[CONVERSATION_LABELS_COLLECTION].update_many(
            {"tenant_id": tenant_id, "label_ids": label_id}, {"$pull": {"label_ids": label_id}})
        return True

    async def conversation_exists(self, tenant_id: str, conversation_id: str) -> bool:
        doc = await self.db[CONVERSATIONS_COLLECTION].find_one(
            {"_id": conversation_id, "tenant_id": tenant_id}, {"_id": 1})
        return doc is not None

    async def conversation_labels(self, tenant_id: str, conversation_id: str) -> list[str]:
        doc = await self.db[CONVERSATION_LABELS_COLLECTION].find_one(
            {"_id": conversation_id, "tenant_id": tenant_id})
        return [str(x) for x in (doc or {}).get("label_ids") or []]

    async def change_labels(self, tenant_id: str, conversation_id: str, *,
                            add: Sequence[str] = (), remove: Sequence[str] = (),
                            replace: Sequence[str] | None = None, at: datetime) -> list[str]:
        update: Document = {"$set": {"updated_at": at}}
        if replace is not None:
            update["$set"]["label_ids"] = list(dict.fromkeys(replace))
        elif add:
            update["$addToSet"] = {"label_ids": {"$each": list(add)}}
        elif remove:
            update["$pullAll"] = {"label_ids": list(remove)}
        query = {"_id": conversation_id, "tenant_id": tenant_id}
        try:
            doc = await self.db[CONVERSATION_LABELS_COLLECTION].find_one_and_update(
                query, update, upsert=True, return_document=ReturnDocument.AFTER)
        except DuplicateKeyError:  # another replica's upsert inserted it first: now an update
            doc = await self.db[CONVERSATION_LABELS_COLLECTION].find_one_and_update(
                query, update, return_document=ReturnDocument.AFTER)
        return [str(x) for x in (doc or {}).get("label_ids") or []]
