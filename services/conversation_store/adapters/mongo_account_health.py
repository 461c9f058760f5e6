"""Step 4 of the store's pipeline in MongoDB: a batch's account notices into ``account_health``.

Which notice wins is account_health.py's rule (the newest per document by Meta's time); this
module applies it against what is stored, as a compare-and-set on the stored time, because
another member may write the same document concurrently (a replay after a rebalance).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.conversation_store.account_health import HealthChange, changes_of, latest
from shared.account_health import ACCOUNT_HEALTH_COLLECTION, INDEXES
from shared.consumer import Received
from shared.events.base import Event
from shared.mongo import ensure_indexes


class AccountHealthFold:
    """Writes a batch's notices: one read and at most one write per document."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], clock: Callable[[], datetime]) -> None:
        self.db = db
        self.notices = db[ACCOUNT_HEALTH_COLLECTION]
        self.clock = clock

    async def ensure_indexes(self) -> None:
        await ensure_indexes(self.db, INDEXES)

    async def __call__(self, batch: Sequence[Received[Event]]) -> None:
        changes = [c for r in batch for c in changes_of(r.event)]
        for doc_id, change in latest(changes).items():
            await self._apply(doc_id, change)

    async def _apply(self, doc_id: str, change: HealthChange) -> None:
        fields = {**change.fields, "updated_at": self.clock()}
        for _ in range(3):  # a concurrent writer: read again and decide again
            stored = await self.notices.find_one({"_id": doc_id}, {"at": 1})
            if stored is None:
                try:
                    await self.notices.insert_one({"_id": doc_id, **fields})
                    return
                except DuplicateKeyError:
                    continue
            stored_at = stored.get("at")
            if stored_at is not None and _utc(stored_at) > change.at:
                return  # a newer notice is stored already (replay or late delivery)
            result = await self.notices.update_one({"_id": doc_id, "at": stored_at},
                                                   {"$set": fields})
            if result.matched_count == 1:
                return


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # BSON dates come back naive
