"""Every MongoDB query of the campaigns API: writes `campaigns` and `campaign_recipients`, reads
templates, channels and the messages a report joins. Simple finds only (FerretDB v1): campaigns
by equality, ranges, sort and limit on their indexes; recipients and numbers by ``_id`` alone
(``$in`` of a position range), which FerretDB v1 narrows and MongoDB reads by primary key."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.campaigns import (
    CAMPAIGN_INDEXES,
    CAMPAIGN_NUMBERS_COLLECTION,
    CAMPAIGN_RECIPIENTS_COLLECTION,
    CAMPAIGNS_COLLECTION,
    NOT_SENT,
    QUEUED,
    RANGE_CHUNK,
    number_id,
    position_chunks,
    recipient_id,
    recipient_ids,
)
from shared.channel_tokens import TokenBox
from shared.channels import CHANNELS_COLLECTION, Channel
from shared.mongo import ensure_indexes
from shared.read_model import CAMPAIGN_LIST
from shared.templates import TEMPLATES_COLLECTION, template_doc_id

Document = dict[str, Any]
MESSAGES = "messages"
# Report joins read messages in chunks of this many ids (one `$in` each).
JOIN_CHUNK = 500


class CampaignRepository:
    def __init__(self, db: AsyncDatabase[Document], tokens: TokenBox | None = None) -> None:
        self.db = db
        self.tokens = tokens
        self.campaigns = db[CAMPAIGNS_COLLECTION]
        self.recipients = db[CAMPAIGN_RECIPIENTS_COLLECTION]
        self.numbers = db[CAMPAIGN_NUMBERS_COLLECTION]

    async def ensure_indexes(self) -> None:
        await ensure_indexes(self.db, CAMPAIGN_INDEXES)

    # -- campaigns -----------------------------------------------------------------------------

    async def insert_campaign(self, doc: Document) -> bool:
        """False when the id exists (the same Idempotency-Key again)."""
        try:
            await self.campaigns.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def campaign(self, tenant_id: str, campaign_id: str) -> Document | None:
        return await self.campaigns.find_one({"_id": campaign_id, "tenant_id": tenant_id})

    async def page(self, tenant_id: str, state: str | None, before: tuple[datetime, str] | None,
                   limit: int) -> list[Document]:
        query: Document = {"tenant_id": tenant_id}
        if state is not None:
            query["state"] = state
        if before is not None:
            at, cid = before
            query["$or"] = [{"created_at": {"$lt": at}}, {"created_at": at, "_id": {"$lt": cid}}]
        cursor = self.campaigns.find(query).sort(CAMPAIGN_LIST.sort_spec).limit(limit)
        return await cursor.to_list(None)

    async def update(self, tenant_id: str, campaign_id: str, from_states: Sequence[str],
                     change: Document) -> bool:
        """Apply ``change`` only while the campaign is in one of ``from_states``."""
        result = await self.campaigns.update_one(
            {"_id": campaign_id, "tenant_id": tenant_id, "state": {"$in": list(from_states)}},
            change)
        return result.matched_count == 1

    async def record_upload(self, campaign_id: str, change: Document) -> None:
        """An upload's counters and kept errors (``change``), whatever the campaign's state."""
        await self.campaigns.update_one({"_id": campaign_id}, change)

    async def count(self, campaign_id: str, fields: dict[str, int]) -> None:
        await self.campaigns.update_one(
            {"_id": campaign_id},
            {"$inc": {**{f"counters.{k}": v for k, v in fields.items()}, "version": 1}})

    # -- recipients ----------------------------------------------------------------------------

    async def add_numbers(self, campaign_id: str, wa_ids: Sequence[str]) -> set[str]:
        """Claim each number for the campaign; the ones already claimed (by an earlier upload,
        or a concurrent one) come back: they are duplicates."""
        if not wa_ids:
            return set()
        docs = [{"_id": number_id(campaign_id, w), "campaign_id": campaign_id} for w in wa_ids]
        try:
            await self.numbers.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            return {wa_ids[e["index"]] for e in exc.details.get("writeErrors", [])
                    if e.get("code") == 11000}
        return set()

    async def reserve_rows(self, campaign_id: str, count: int) -> int:
        """Positions for ``count`` new recipients: the first one (the next ``count`` are this
        upload's alone, whatever uploads run at the same time)."""
        before = await self.campaigns.find_one_and_update(
            # No projection: FerretDB v1's findAndModify does not take one.
            {"_id": campaign_id}, {"$inc": {"rows_total": count}},
            return_document=ReturnDocument.BEFORE)
        return int((before or {}).get("rows_total") or 0) + 1

    async def recipient_at(self, campaign_id: str, position: int) -> Document | None:
        return await self.recipients.find_one({"_id": recipient_id(campaign_id, position)},
                                              {"row": 1})

    async def add_recipients(self, docs: Sequence[Document]) -> int:
        """Inserted count; a duplicate ``_id`` (a concurrent upload) is skipped."""
        if not docs:
            return 0
        try:
            result = await self.recipients.insert_many(list(docs), ordered=False)
            return len(result.inserted_ids)
        except BulkWriteError as exc:
            return int(exc.details.get("nInserted", 0))

    async def give_up_queued(self, campaign_id: str, first: int, last: int, reason: str,
                             at: datetime) -> int:
        """Queued -> not_sent over positions ``first`` .. ``last``, by ``_id $in`` chunks; the
        counters follow each chunk."""
        total = 0
        for start, end in position_chunks(first, last, RANGE_CHUNK):
            moved = (await self.recipients.update_many(
                {"_id": {"$in": recipient_ids(campaign_id, start, end)}, "state": QUEUED},
                {"$set": {"state": NOT_SENT, "reason": reason, "updated_at": at}}
            )).modified_count
            if moved:
                await self.count(campaign_id, {"queued": -moved, "not_sent": moved})
            total += moved
        return total

    async def all_recipients(self, campaign_id: str, rows_total: int
                             ) -> AsyncIterator[list[Document]]:
        """Every recipient in position order, a chunk of positions (one ``_id $in``) at a
        time."""
        for start, end in position_chunks(1, rows_total, JOIN_CHUNK):
            docs = await self.recipients.find(
                {"_id": {"$in": recipient_ids(campaign_id, start, end)}}).to_list(None)
            if docs:
                yield sorted(docs, key=lambda d: d["_id"])

    # -- joins ---------------------------------------------------------------------------------

    async def messages(self, tenant_id: str, ids: Sequence[str]) -> dict[str, Document]:
        if not ids:
            return {}
        cursor = self.db[MESSAGES].find(
            {"_id": {"$in": list(ids)}},
            {"status": 1, "statuses": 1, "error": 1, "sent_at": 1, "tenant_id": 1})
        return {d["_id"]: d async for d in cursor if d.get("tenant_id") == tenant_id}

    async def thread_facts(self, tenant_id: str, conversation_ids: Sequence[str],
                           campaign_id: str, since: datetime
                           ) -> tuple[dict[str, list[datetime]], dict[str, list[datetime]]]:
        """Per conversation: customer message times, and other campaigns' send times, after
        ``since`` (what reply attribution needs)."""
        inbound: dict[str, list[datetime]] = {}
        others: dict[str, list[datetime]] = {}
        if not conversation_ids:
            return inbound, others
        cursor = self.db[MESSAGES].find(
            {"tenant_id": tenant_id, "conversation_id": {"$in": list(conversation_ids)},
             "sent_at": {"$gt": since}},
            {"conversation_id": 1, "direction": 1, "campaign_id": 1, "sent_at": 1,
             "message_type": 1, "visible": 1})
        async for doc in cursor:
            cid = doc["conversation_id"]
            if doc.get("direction") == "inbound" and doc.get("visible", True):
                inbound.setdefault(cid, []).append(doc["sent_at"])
            elif doc.get("campaign_id") not in (None, campaign_id):
                others.setdefault(cid, []).append(doc["sent_at"])
        return inbound, others

    # -- reference data ------------------------------------------------------------------------

    async def channel(self, phone_number_id: str) -> Channel | None:
        doc = await self.db[CHANNELS_COLLECTION].find_one({"_id": phone_number_id})
        return None if doc is None else Channel.from_document(doc, self.tokens)

    async def template(self, waba_id: str, name: str, language: str) -> Document | None:
        return await self.db[TEMPLATES_COLLECTION].find_one(
            {"_id": template_doc_id(waba_id, name, language)})
