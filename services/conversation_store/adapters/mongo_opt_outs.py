"""Step 3 of the store's pipeline in MongoDB: a batch's opt-out changes into ``opt_outs``.

Which change wins is opt_outs.py's rule (the newest per customer by WhatsApp time); this module
applies it against what is stored, as a compare-and-set on the stored time, because another
member may write the same customer concurrently (a replay after a rebalance).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.conversation_store.opt_outs import OptOutChange, changes_of, latest
from shared.campaigns import OPT_OUTS_COLLECTION
from shared.consumer import Received
from shared.events.base import Event


class OptOutFold:
    """Writes a batch's opt-out changes: one read and at most one write per customer."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], clock: Callable[[], datetime]) -> None:
        self.opt_outs = db[OPT_OUTS_COLLECTION]
        self.clock = clock

    async def __call__(self, batch: Sequence[Received[Event]]) -> None:
        changes = [c for r in batch for c in changes_of(r.event)]
        for doc_id, change in latest(changes).items():
            await self._apply(doc_id, change)

    async def _apply(self, doc_id: str, change: OptOutChange) -> None:
        fields = {"tenant_id": change.tenant_id,
                  "business_phone_number_id": change.business_phone_number_id,
                  "customer_wa_id": change.customer_wa_id, "opted_out": change.opted_out,
                  "source": change.source, "keyword": change.keyword, "at": change.at,
                  "updated_at": self.clock()}
        for _ in range(3):  # a concurrent writer: read again and decide again
            stored = await self.opt_outs.find_one({"_id": doc_id}, {"at": 1})
            if stored is None:
                try:
                    await self.opt_outs.insert_one({"_id": doc_id, **fields})
                    return
                except DuplicateKeyError:
                    continue
            if stored.get("at") is not None and stored["at"] > change.at:
                return  # a newer choice is stored already (replay or late delivery)
            result = await self.opt_outs.update_one({"_id": doc_id, "at": stored.get("at")},
                                                    {"$set": fields})
            if result.matched_count == 1:
                return
