"""Loads and saves threads in MongoDB.

A load is at most three queries, and only for what the thread cache cannot answer: conversations
by ``_id $in``, the messages they name by ``_id $in``, and those they name by ``wamid $in``. A
conversation without a document has no messages (conversations are written first), so its
messages are not looked up at all.

Writes are ``bulk_write``s that filter on ``_id`` alone (absorbed stubs go in one ``_id $in``
delete), and new documents are inserted, never upserted. These are the shapes FerretDB v1 (the
local stand-in) runs as SQLite index operations, with devstack's patches (docs/infrastructure.md);
a ``wamid`` filter is still a scan there, which is why it is asked only for conversations the
cache has not seen since start-up. Writes go in chunks of ``write_chunk`` operations (an
unpatched FerretDB v1 hangs on an update command of 100 statements or more).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from pymongo import ASCENDING, DESCENDING, DeleteMany, IndexModel, InsertOne, ReplaceOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from services.conversation_store.changes import ThreadChange
from services.conversation_store.documents import Conversation, Message
from services.conversation_store.ports import Wanted, WriteConflict
from services.conversation_store.thread import Thread
from shared.mongo import Document, ensure_indexes

CONVERSATIONS = "conversations"
MESSAGES = "messages"
WRITE_CHUNK = 1000
IN_CHUNK = 1000  # values per $in
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
        # A tenant's newest messages: the inbox's message-text search reads a bounded window.
        IndexModel([("tenant_id", ASCENDING), ("sort_key", DESCENDING)], name="tenant_recent"),
    ],
}


def conversation_document(conversation: Conversation) -> Document:
    doc = conversation.to_document()
    doc["has_unread"] = conversation.unread_count > 0
    return doc


class MongoThreadRepository:
    """The store's only database code."""

    def __init__(self, db: AsyncDatabase[Document], write_chunk: int = WRITE_CHUNK) -> None:
        self.conversations: AsyncCollection[Document] = db[CONVERSATIONS]
        self.messages: AsyncCollection[Document] = db[MESSAGES]
        self.db = db
        self.write_chunk = write_chunk

    async def ensure_indexes(self) -> None:
        await ensure_indexes(self.db, INDEXES)

    async def load(self, wanted: Mapping[str, Wanted]) -> dict[str, Thread]:
        conversations = {
            doc["_id"]: Conversation.model_validate(doc)
            for doc in await _find(self.conversations, "_id", sorted(wanted))
        }
        # Conversations are written before their messages: one without a document has none.
        present = [cid for cid in wanted if cid in conversations]
        ids = sorted({i for cid in present for i in wanted[cid].ids})
        wamids = sorted({w for cid in present for w in wanted[cid].wamids})
        # A merge hands a whole thread over: all its messages (by thread_order's prefix).
        whole: dict[str, list[str]] = {}
        for present_id in present:
            if wanted[present_id].all:
                tenant_id = conversations[present_id].tenant_id
                whole.setdefault(tenant_id, []).append(present_id)
        by_id, by_wamid, *by_thread = await asyncio.gather(
            _find(self.messages, "_id", ids), _find(self.messages, "wamid", wamids),
            *(_threads(self.messages, tenant, cids) for tenant, cids in sorted(whole.items())))
        messages: dict[str, dict[str, Message]] = {cid: {} for cid in wanted}
        for doc in [*by_id, *by_wamid, *(d for docs in by_thread for d in docs)]:
            # A wamid may also exist in another conversation (two of our numbers talking).
            cid = doc.get("conversation_id")
            if isinstance(cid, str) and cid in conversations:
                messages[cid][doc["_id"]] = Message.model_validate(doc)
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
        await _bulk(self.conversations, conversation_ops, self.write_chunk)
        message_ops: list[Any] = []
        for change in changes:
            message_ops += [InsertOne(m.to_document()) for m in change.inserts]
            message_ops += [ReplaceOne({"_id": m.id}, m.to_document()) for m in change.replaces]
        deletes = sorted(mid for change in changes for mid in change.deletes)
        message_ops += [DeleteMany({"_id": {"$in": deletes[start:start + IN_CHUNK]}})
                        for start in range(0, len(deletes), IN_CHUNK)]
        await _bulk(self.messages, message_ops, self.write_chunk)


async def _find(
    collection: AsyncCollection[Document], field: str, values: Sequence[str]
) -> list[Document]:
    """The documents whose ``field`` is one of ``values``, in ``$in`` queries of bounded size."""
    chunks = [values[start:start + IN_CHUNK] for start in range(0, len(values), IN_CHUNK)]
    found = await asyncio.gather(
        *(collection.find({field: {"$in": list(chunk)}}).to_list(None) for chunk in chunks))
    return [doc for docs in found for doc in docs]


async def _threads(collection: AsyncCollection[Document], tenant_id: str,
                   conversation_ids: Sequence[str]) -> list[Document]:
    """Every message of these conversations (a merge's hand-over; rare)."""
    chunks = [conversation_ids[start:start + IN_CHUNK]
              for start in range(0, len(conversation_ids), IN_CHUNK)]
    found = await asyncio.gather(*(
        collection.find({"tenant_id": tenant_id, "conversation_id": {"$in": list(chunk)}})
        .to_list(None) for chunk in chunks))
    return [doc for docs in found for doc in docs]


async def _bulk(collection: AsyncCollection[Document], ops: Sequence[Any], chunk: int) -> None:
    for start in range(0, len(ops), chunk):
        try:
            await collection.bulk_write(list(ops[start:start + chunk]), ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if errors and all(e.get("code") == DUPLICATE_KEY for e in errors):
                raise WriteConflict(f"{collection.name}: {len(errors)} unseen documents") from exc
            raise
