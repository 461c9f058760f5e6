"""The dispatcher's MongoDB: campaigns (lease, state, counters), their recipients, opt-outs and
the template's status. Single-document conditional updates and ``_id $in`` writes only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.outbound_sender.campaign_pacing import MESSAGING_LIMIT_WINDOW, lease_filter
from shared.campaigns import (
    CAMPAIGN_INDEXES,
    CAMPAIGN_RECIPIENTS_COLLECTION,
    CAMPAIGNS_COLLECTION,
    NOT_SENT,
    OPT_OUTS_COLLECTION,
    QUEUED,
    RELEASED,
    RUNNING,
    SCHEDULED,
    opt_out_id,
)
from shared.mongo import ensure_indexes
from shared.templates import TEMPLATES_COLLECTION, template_doc_id

Document = dict[str, Any]


class MongoCampaignStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        self.campaigns = db[CAMPAIGNS_COLLECTION]
        self.recipients = db[CAMPAIGN_RECIPIENTS_COLLECTION]

    async def ensure_indexes(self) -> None:
        await ensure_indexes(self.db, CAMPAIGN_INDEXES)

    async def due(self, now: datetime) -> list[Document]:
        running = await self.campaigns.find({"state": RUNNING}, {"_id": 1}).to_list(None)
        scheduled = await self.campaigns.find(
            {"state": SCHEDULED, "schedule.at_utc": {"$lte": now}}, {"_id": 1}).to_list(None)
        return running + scheduled

    async def claim(self, campaign_id: str, owner: str, now: datetime,
                    lease_seconds: float) -> Document | None:
        """Take or renew the lease (one conditional update); the campaign, or None if another
        replica holds it or it is no longer due."""
        result = await self.campaigns.update_one(
            {"_id": campaign_id, "state": {"$in": [RUNNING, SCHEDULED]},
             **lease_filter(owner, now)},
            {"$set": {"lease_owner": owner,
                      "lease_until": now + timedelta(seconds=lease_seconds)}})
        if result.matched_count != 1:
            return None
        return await self.campaigns.find_one({"_id": campaign_id})

    async def release_lease(self, campaign_id: str, owner: str) -> None:
        await self.campaigns.update_one({"_id": campaign_id, "lease_owner": owner},
                                        {"$set": {"lease_owner": None, "lease_until": None}})

    async def set_state(self, campaign_id: str, from_state: str, change: Document) -> bool:
        result = await self.campaigns.update_one(
            {"_id": campaign_id, "state": from_state},
            {"$set": change, "$inc": {"version": 1}})
        return result.matched_count == 1

    async def set_hold(self, campaign_id: str, hold: Document | None) -> None:
        await self.campaigns.update_one({"_id": campaign_id}, {"$set": {"hold": hold}})

    async def template(self, waba_id: str, name: str, language: str) -> Document | None:
        return await self.db[TEMPLATES_COLLECTION].find_one(
            {"_id": template_doc_id(waba_id, name, language)},
            {"status": 1, "category": 1, "reason": 1})

    async def next_queued(self, campaign_id: str, limit: int) -> list[Document]:
        cursor = self.recipients.find({"campaign_id": campaign_id, "state": QUEUED}).sort(
            "row", 1).limit(limit)
        return await cursor.to_list(None)

    async def opted_out(self, tenant_id: str, number: str, wa_ids: Sequence[str]) -> set[str]:
        ids = [opt_out_id(tenant_id, number, w) for w in wa_ids]
        cursor = self.db[OPT_OUTS_COLLECTION].find({"_id": {"$in": ids}},
                                                   {"customer_wa_id": 1, "opted_out": 1})
        return {d["customer_wa_id"] async for d in cursor if d.get("opted_out")}

    async def mark(self, campaign_id: str, ids: Sequence[str], state: str, now: datetime,
                   reason: str | None = None) -> int:
        """Queued (or not_sent by a cancel racing this release) -> ``state``; counters follow."""
        if not ids:
            return 0
        fields: Document = {"state": state, "reason": reason, "updated_at": now}
        if state == RELEASED:
            fields["released_at"] = now
        moved = (await self.recipients.update_many(
            {"_id": {"$in": list(ids)}, "state": QUEUED}, {"$set": fields})).modified_count
        late = 0
        if state == RELEASED and moved < len(ids):
            # Cancelled while this batch was published: the commands went out, so say so.
            late = (await self.recipients.update_many(
                {"_id": {"$in": list(ids)}, "state": NOT_SENT},
                {"$set": fields})).modified_count
        await self.campaigns.update_one({"_id": campaign_id}, {"$inc": {
            f"counters.{state}": moved + late, "counters.queued": -moved,
            "counters.not_sent": -late, "version": 1}})
        return moved + late

    async def give_up(self, campaign_id: str, reason: str, now: datetime) -> int:
        moved = (await self.recipients.update_many(
            {"campaign_id": campaign_id, "state": QUEUED},
            {"$set": {"state": NOT_SENT, "reason": reason, "updated_at": now}})).modified_count
        await self.campaigns.update_one({"_id": campaign_id}, {"$inc": {
            "counters.not_sent": moved, "counters.queued": -moved, "version": 1}})
        return moved

    async def released_in_window(self, number: str, now: datetime
                                 ) -> tuple[int, datetime | None]:
        since = now - MESSAGING_LIMIT_WINDOW
        query = {"business_phone_number_id": number, "released_at": {"$gt": since}}
        count = await self.recipients.count_documents(query)
        oldest = await self.recipients.find_one(query, {"released_at": 1},
                                                sort=[("released_at", 1)])
        return count, None if oldest is None else oldest["released_at"]


