"""The dispatcher's MongoDB: campaigns (lease, state, counters), their recipients, opt-outs and
the template's status. Every recipient, opt-out and hourly-count read or write is by ``_id``
(``$in`` of a position range): FerretDB v1 narrows only those (docs/infrastructure.md), and on
MongoDB they are primary-key operations. Campaign updates are single-document conditionals."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from services.outbound_sender.campaigns.pacing import lease_filter
from shared.campaigns import (
    CAMPAIGN_INDEXES,
    CAMPAIGN_RECIPIENTS_COLLECTION,
    CAMPAIGN_RELEASE_HOURS_COLLECTION,
    CAMPAIGNS_COLLECTION,
    NOT_SENT,
    OPT_OUTS_COLLECTION,
    QUEUED,
    RANGE_CHUNK,
    RELEASE_HOUR,
    RELEASED,
    RUNNING,
    SCHEDULED,
    opt_out_id,
    position_chunks,
    recipient_ids,
    release_hour,
    release_hour_id,
    window_hours,
)
from shared.mongo import ensure_indexes
from shared.templates import TEMPLATES_COLLECTION, template_doc_id

Document = dict[str, Any]


class MongoCampaignStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        self.campaigns = db[CAMPAIGNS_COLLECTION]
        self.recipients = db[CAMPAIGN_RECIPIENTS_COLLECTION]
        self.hours = db[CAMPAIGN_RELEASE_HOURS_COLLECTION]

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

    async def at_positions(self, campaign_id: str, first: int, last: int) -> list[Document]:
        """Positions ``first`` .. ``last`` (one ``_id $in`` read), in position order."""
        ids = recipient_ids(campaign_id, first, last)
        if not ids:
            return []
        docs = await self.recipients.find({"_id": {"$in": ids}}).to_list(None)
        return sorted(docs, key=lambda d: d["_id"])

    async def advance(self, campaign_id: str, owner: str, from_row: int, to_row: int) -> bool:
        """Move the release cursor, only while this replica holds the lease and nobody moved
        it meanwhile."""
        result = await self.campaigns.update_one(
            {"_id": campaign_id, "lease_owner": owner, "next_row": from_row},
            {"$set": {"next_row": to_row}})
        return result.matched_count == 1

    async def opted_out(self, tenant_id: str, number: str, wa_ids: Sequence[str]) -> set[str]:
        """The given customer keys (numbers, or BSUIDs of rows without one) that opted out."""
        keys = {opt_out_id(tenant_id, number, w): w for w in wa_ids}
        cursor = self.db[OPT_OUTS_COLLECTION].find({"_id": {"$in": list(keys)}},
                                                   {"opted_out": 1})
        return {keys[d["_id"]] async for d in cursor if d.get("opted_out") and d["_id"] in keys}

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

    async def give_up(self, campaign_id: str, first: int, last: int, reason: str,
                      now: datetime) -> int:
        """Queued recipients at positions ``first`` .. ``last`` -> not_sent, a chunk at a time
        (the counters follow each chunk)."""
        return await give_up_range(self.campaigns, self.recipients, campaign_id, first, last,
                                   reason, now)

    async def count_releases(self, number: str, now: datetime, count: int) -> None:
        hour = release_hour(now)
        await self.hours.update_one(
            {"_id": release_hour_id(number, hour)},
            {"$inc": {"count": count}, "$setOnInsert": {"number": number, "hour": hour}},
            upsert=True)

    async def released_in_window(self, number: str, now: datetime
                                 ) -> tuple[int, datetime | None]:
        """Releases on ``number`` in the hours covering the last 24 h, and the end of the
        oldest hour that has any (when its releases may have happened at the latest)."""
        hours = window_hours(now)
        docs = await self.hours.find(
            {"_id": {"$in": [release_hour_id(number, h) for h in hours]}},
            {"count": 1, "hour": 1}).to_list(None)
        counted = [d for d in docs if int(d.get("count") or 0) > 0]
        if not counted:
            return 0, None
        oldest = min(_aware(d["hour"]) for d in counted)
        return sum(int(d["count"]) for d in counted), oldest + RELEASE_HOUR


async def give_up_range(campaigns: AsyncCollection[Document],
                        recipients: AsyncCollection[Document], campaign_id: str, first: int,
                        last: int, reason: str, now: datetime) -> int:
    """Queued -> not_sent over a position range by ``_id $in`` chunks."""
    total = 0
    for start, end in position_chunks(first, last, RANGE_CHUNK):
        moved = (await recipients.update_many(
            {"_id": {"$in": recipient_ids(campaign_id, start, end)}, "state": QUEUED},
            {"$set": {"state": NOT_SENT, "reason": reason, "updated_at": now}})).modified_count
        if moved:
            await campaigns.update_one({"_id": campaign_id}, {"$inc": {
                "counters.not_sent": moved, "counters.queued": -moved, "version": 1}})
        total += moved
    return total


def _aware(at: datetime) -> datetime:
    # PyMongo answers naive UTC unless the client is tz-aware.
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
