"""Step 2 of the store's pipeline in MongoDB: a batch's template events into ``templates``.

The rules (which event wins, what it writes) are templates.py's; this module does the reads and
the conditional writes. The condition is in the write itself because inbox_api's template sync
writes the same fields under the same rule and may have stored a newer value since the read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from services.conversation_store.templates import KINDS, latest_of_each
from shared.consumer import Received
from shared.events.base import Event
from shared.mongo import Document, ensure_indexes
from shared.templates import TEMPLATES_COLLECTION

INDEXES = [
    # The composer's "approved templates of this tenant" list.
    IndexModel([("tenant_id", ASCENDING), ("status", ASCENDING), ("name", ASCENDING)],
               name="tenant_status_name"),
]


class TemplateStatusFold:
    """Applies a batch's template events (one read and one write per template and kind)."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        self.templates = db[TEMPLATES_COLLECTION]

    async def ensure_indexes(self) -> None:
        await ensure_indexes(self.db, {TEMPLATES_COLLECTION: INDEXES})

    async def __call__(self, batch: Sequence[Received[Event]]) -> None:
        for (kind, doc_id), event in latest_of_each(r.event for r in batch).items():
            at_field, update = KINDS[kind]
            stored = await self.templates.find_one({"_id": doc_id},
                                                   {at_field: 1, "components": 1})
            if stored is None:
                await self.templates.update_one({"_id": doc_id}, update(event, None),
                                                upsert=True)
            elif not _older_or_equal(stored.get(at_field), event.occurred_at):
                continue
            else:
                # Conditional write: the sync may have stored a newer value since the read.
                await self.templates.update_one(
                    {"_id": doc_id, "$or": [{at_field: {"$lte": event.occurred_at}},
                                            {at_field: None}]}, update(event, stored))


def _older_or_equal(stored_at: datetime | None, at: datetime) -> bool:
    if stored_at is None:
        return True
    if stored_at.tzinfo is None:  # BSON dates come back naive (UTC)
        stored_at = stored_at.replace(tzinfo=UTC)
    return stored_at <= at
