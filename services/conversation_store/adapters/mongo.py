"""Loads and saves threads in MongoDB: two queries in, two bulk writes out, per batch.

Writes filter on ``_id`` alone and new documents are inserted, never upserted: these are the only
shapes FerretDB v1 (the local stand-in) executes without scanning the collection in Go. Bulk
writes are cut into chunks of at most ``MAX_OPS`` operations, because FerretDB v1 deadlocks on an
update or delete command of 100 statements or more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pymongo import ASCENDING, DESCENDING, DeleteOne, IndexModel, InsertOne, ReplaceOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from services.conversation_store.changes import ThreadChange
from services.conversation_store.documents import Conversation, Message
from services.conversation_store.handlers import Wanted, WriteConflict
from services.conversation_store.projection import Thread
from shared.mongo import Document, ensure_indexes

CONVERSATIONS = "conversations"
MESSAGES = "messages"
MAX_OPS = 50
DUPLICATE_KEY = 11000

# Each index names the query it serves (docs/data-model.md).
INDEXES: dict[str, list[IndexModel]] = {
    CONVERSATIONS: [
        # A tenant's list by last activity, keyset-paginated on (last_activity_at, _id).
        IndexModel([("tenant_id", ASCENDING), ("last_activity_at", DESCENDING),
                    ("_id", DESCENDING)], name="tenant_activity"),
        # Filters: open/resolved, assignee (mine, unassigned = null), unread only.
        IndexModel([("tenant_id", ASCENDING), ("status", ASCENDING),
                    ("last_activity_at", DESCENDING), ("_id", DESCENDING)],
                   name="tenant_status_activity"),
        IndexModel([("tenant_id", ASCENDING), ("assignee_id", ASCENDING),
                    ("last_activity_at", DESCENDING), ("_id", DESCENDING)],
                   name="tenant_assignee_activity"),
        IndexModel([("tenant_id", ASCENDING), ("has_unread", ASCENDING),
                    ("last_activity_at", DESCENDING), ("_id", DESCENDING)],
                   name="tenant_unread_activity"),
        # Contact search: anchored prefix on name words and number spellings.
        IndexModel([("tenant_id", ASCENDING), ("search_keys", ASCENDING)], name="tenant_search"),
    ],
    MESSAGES: [
        # A thread, newest first, keyset-paginated backwards on sort_key.
        IndexModel([("tenant_id", ASCENDING), ("conversation_id", ASCENDING),
                    ("sort_key", DESCENDING)], name="thread_order"),
        # A message by WhatsApp id: statuses, reactions, quoted replies.
        IndexModel([("wamid", ASCENDING)], name="wamid"),
    ],
}


def conversation_document(conversation: Conversation) -> Document:
    doc = conversation.to_document()
    doc["has_unread"] = conversation.unread_count > 0
    return doc


class MongoThreadRepository:
    """The store's only database code."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.conversations: AsyncCollection[Document] = db[CONVERSATIONS]
        self.messages: AsyncCollection[Document] = db[MESSAGES]
        self.db = db

    async def ensure_indexes(self) -> None:
        """Create the missing indexes only: FerretDB v1 panics when asked to re-create an
        existing compound index, so existing names are skipped rather than re-sent."""
        missing: dict[str, list[IndexModel]] = {}
        for collection, models in INDEXES.items():
            existing = {index["name"] async for index in await self.db[collection].list_indexes()}
            missing[collection] = [m for m in models if m.document["name"] not in existing]
        await ensure_indexes(self.db, missing)

    async def load(self, wanted: Mapping[str, Wanted]) -> dict[str, Thread]:
        ids = sorted({i for w in wanted.values() for i in w.ids})
        wamids = sorted({w for need in wanted.values() for w in need.wamids})
        conversations = {
            doc["_id"]: Conversation.model_validate(doc)
            async for doc in self.conversations.find({"_id": {"$in": sorted(wanted)}})
        }
        messages: dict[str, dict[str, Message]] = {cid: {} for cid in wanted}
        clauses: list[dict[str, Any]] = []
        if ids:
            clauses.append({"_id": {"$in": ids}})
        if wamids:
            clauses.append({"wamid": {"$in": wamids}})
        if clauses:
            query = clauses[0] if len(clauses) == 1 else {"$or": clauses}
            async for doc in self.messages.find(query):
                # A wamid may also exist in another conversation (two of our numbers talking).
                if doc.get("conversation_id") in messages:
                    messages[doc["conversation_id"]][doc["_id"]] = Message.model_validate(doc)
        return {
            cid: Thread(id=cid, conversation=conversations.get(cid), messages=messages[cid])
            for cid in wanted
        }

    async def save(self, changes: Sequence[ThreadChange]) -> None:
        # Conversations first: a message never exists without its conversation effects, which is
        # what lets the fold treat "message already stored" as "already counted" (projection.py).
        conversation_ops: list[Any] = [
            InsertOne(conversation_document(c.conversation)) if c.conversation_is_new
            else ReplaceOne({"_id": c.conversation.id}, conversation_document(c.conversation))
            for c in changes
        ]
        await _bulk(self.conversations, conversation_ops)
        message_ops: list[Any] = []
        for change in changes:
            message_ops += [InsertOne(m.to_document()) for m in change.inserts]
            message_ops += [ReplaceOne({"_id": m.id}, m.to_document()) for m in change.replaces]
            message_ops += [DeleteOne({"_id": mid}) for mid in change.deletes]
        await _bulk(self.messages, message_ops)


async def _bulk(collection: AsyncCollection[Document], ops: Sequence[Any]) -> None:
    for start in range(0, len(ops), MAX_OPS):
        try:
            await collection.bulk_write(list(ops[start:start + MAX_OPS]), ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if errors and all(e.get("code") == DUPLICATE_KEY for e in errors):
                raise WriteConflict(f"{collection.name}: {len(errors)} unseen documents") from exc
            raise
