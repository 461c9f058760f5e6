"""The round-robin pointer in MongoDB (round_robin.py): one ``round_robin`` document per tenant,
written by inbox_api (``enabled``, ``members``), whose ``counter`` the store advances.

A tenant whose rotation is off (most) would cost a round trip per new conversation; "off" is
remembered for a few seconds instead, so switching the rotation on applies to conversations
created from then on within :data:`OFF_REMEMBERED_SECONDS`."""

from __future__ import annotations

import time
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from services.conversation_store.round_robin import next_member
from shared.read_model import ROUND_ROBIN_COLLECTION

OFF_REMEMBERED_SECONDS = 5.0


class MongoRotation:
    """``next``: one atomic ``$inc`` of the tenant's counter, only while the rotation is on."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.rotations = db[ROUND_ROBIN_COLLECTION]
        self._off_until: dict[str, float] = {}  # tenant -> monotonic time to ask again

    async def next(self, tenant_id: str) -> str | None:
        now = time.monotonic()
        if self._off_until.get(tenant_id, 0.0) > now:
            return None
        doc = await self.rotations.find_one_and_update(
            # No projection: FerretDB v1's findAndModify refuses one (the document is small).
            {"_id": tenant_id, "enabled": True}, {"$inc": {"counter": 1}},
            return_document=ReturnDocument.AFTER)
        if doc is None:
            self._off_until[tenant_id] = now + OFF_REMEMBERED_SECONDS
            return None
        self._off_until.pop(tenant_id, None)
        members = [m for m in doc.get("members") or [] if isinstance(m, str)]
        return next_member(members, int(doc.get("counter") or 0))
