"""Every MongoDB query of the template API: the ``templates`` collection and the channels.

Writes are single-document and conditional on the time that set the current value (``status_at``
or ``quality_at``), so they interleave safely with conversation_store's webhook fold
(docs/templates-collection.md). An upsert whose condition fails on an existing document would
insert a duplicate ``_id``: conditional writes are therefore plain updates, preceded by an
insert-if-absent of the definition.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from shared.channel_tokens import TokenBox
from shared.channels import CHANNELS_COLLECTION, Channel
from shared.templates import TEMPLATES_COLLECTION

Document = dict[str, Any]
LIST_LIMIT = 1000


def storable(value: Any) -> Any:
    """``value`` without arrays nested in arrays, which FerretDB v1 cannot store.

    Meta's only nesting in templates is ``example.body_text: [["Ana", "A-1"]]`` (one row of
    examples): an inner array is kept as its first row. Readers accept both shapes.
    """
    if isinstance(value, dict):
        return {k: storable(v) for k, v in value.items()}
    if isinstance(value, list):
        if value and all(isinstance(v, list) for v in value):
            return [storable(v) for v in value[0]]
        return [storable(v) for v in value if not isinstance(v, list)]
    return value


def _older(field: str, at: datetime) -> Document:
    # ``None`` matches a missing field too.
    return {"$or": [{field: {"$lt": at}}, {field: None}]}


class MongoTemplateStore:
    def __init__(self, db: AsyncDatabase[Document], tokens: TokenBox | None = None) -> None:
        self.db = db
        self.tokens = tokens
        self.templates = db[TEMPLATES_COLLECTION]

    async def channels(self, tenant_id: str | None = None) -> list[Channel]:
        """The tenant's channels (every tenant's for None)."""
        query: Document = {} if tenant_id is None else {"tenant_id": tenant_id}
        docs = await self.db[CHANNELS_COLLECTION].find(query).to_list(None)
        return [Channel.from_document(d, self.tokens) for d in docs]

    async def get(self, doc_id: str) -> Document | None:
        return await self.templates.find_one({"_id": doc_id})

    async def of_tenant(self, tenant_id: str, status: str | None) -> list[Document]:
        query: Document = {"tenant_id": tenant_id}
        if status:
            query["status"] = status.upper()
        cursor = self.templates.find(query).sort([("name", ASCENDING),
                                                  ("language", ASCENDING)])
        return await cursor.limit(LIST_LIMIT).to_list(None)

    async def of_account(self, waba_id: str) -> list[Document]:
        return await self.templates.find({"waba_id": waba_id},
                                         {"status": 1, "status_at": 1}).to_list(None)

    async def put_definition(self, doc_id: str, fields: Document, created_at: datetime) -> None:
        await self.templates.update_one(
            {"_id": doc_id},
            {"$set": storable(fields), "$setOnInsert": {"created_at": created_at}},
            upsert=True)

    async def set_status_if_older(self, doc_id: str, fields: Document) -> bool:
        """Apply ``fields`` (with their ``status_at``) only over an older status."""
        result = await self.templates.update_one(
            {"_id": doc_id, **_older("status_at", fields["status_at"])}, {"$set": fields})
        return result.modified_count > 0

    async def set_quality_if_older(self, doc_id: str, fields: Document) -> bool:
        result = await self.templates.update_one(
            {"_id": doc_id, **_older("quality_at", fields["quality_at"])}, {"$set": fields})
        return result.modified_count > 0

    async def record_edit(self, doc_id: str, at: datetime) -> None:
        await self.templates.update_one({"_id": doc_id}, {"$push": {"edited_at": at}})
