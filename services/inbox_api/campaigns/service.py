"""The campaigns use cases: create, audience (stored by ``recipients.py``), schedule, state
changes, list, get, report.

inbox_api writes the campaign documents; the dispatcher in outbound_sender releases them. Every
state change is one conditional update on the campaign (filter: the states it may come from),
so an action racing the dispatcher (running -> completed/stopped) loses cleanly with a 409.

Size: one class for the campaign's use cases, each a few lines; they share the tenant and
ownership checks (``_get``, ``_channel``, ``_template``). Validation lives in ``audience.py``
and ``recipients.py``, the report's rows in ``report.py``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Coroutine
from datetime import datetime
from typing import Any

from services.inbox_api.accounts.credentials import Identity
from services.inbox_api.accounts.ownership import own_channel
from services.inbox_api.campaigns.audience import (
    Audience,
    AudienceFileError,
    Row,
    rows_from_csv,
)
from services.inbox_api.campaigns.ports import CampaignStore, Clock, Contacts, Document
from services.inbox_api.campaigns.recipients import checked_audience, store_upload
from services.inbox_api.campaigns.report import ReportRow, Totals, csv_lines, row_of
from services.inbox_api.campaigns.schedule import ScheduleError, to_utc
from services.inbox_api.campaigns.states import EDITABLE, StateConflict, next_state
from services.inbox_api.conversations.cursors import (
    BadCursor,
    ListPosition,
    decode_list_cursor,
    encode_list_cursor,
)
from services.inbox_api.errors import BadRequest, InboxApiError, InvalidInput, NotFound
from services.inbox_api.templates.variables import body_text_of
from shared.campaigns import CANCELLED, DRAFT, RUNNING, SCHEDULED
from shared.channels import Channel

log = logging.getLogger(__name__)
_ID_NAMESPACE = uuid.UUID("9d0c6b8e-51a3-4c1f-8f3e-0e6a7d2b4c55")


class CampaignConflict(InboxApiError):
    status_code = 409
    code = "campaign_state"


class NotStartable(InboxApiError):
    """The template is not approved, or nobody is queued (409 with its own code)."""

    status_code = 409
    code = "campaign_empty"


class CampaignService:
    def __init__(self, repository: CampaignStore, clock: Clock,
                 contacts: Contacts | None = None) -> None:
        self.repository, self.clock, self.contacts = repository, clock, contacts
        self.background: set[asyncio.Task[int]] = set()

    # -- create and audience -------------------------------------------------------------------

    async def create(self, who: Identity, body: dict[str, Any], rows: list[Row] | None,
                     idempotency_key: str | None, *, skip_invalid: bool = False
                     ) -> tuple[Document, Audience | None, bool]:
        channel = await self._channel(who, body["business_phone_number_id"])
        template = await self._template(who, channel, body["template_name"], body["language"])
        checked = checked_audience(rows, template, skip_invalid) if rows else None
        now = self.clock()
        campaign_id = (uuid.uuid5(_ID_NAMESPACE, f"{who.tenant_id}\n{idempotency_key}").hex
                       if idempotency_key else uuid.uuid4().hex)
        existing = await self.repository.campaign(who.tenant_id, campaign_id)
        if existing is not None:
            return existing, None, False
        schedule = body.get("schedule")
        doc: Document = {
            "_id": campaign_id, "tenant_id": who.tenant_id, "name": body["name"],
            "business_phone_number_id": channel.phone_number_id,
            "template": {"name": body["template_name"], "language": body["language"],
                         "category": template.get("category")},
            "state": DRAFT, "stop_reason": None, "hold": None, "schedule": None,
            "counters": {"recipients": 0, "queued": 0, "released": 0, "skipped": 0,
                         "not_sent": 0},
            "audience": {"rows": 0, "rejected_rows": 0, "duplicates": 0, "uploads": 0,
                         "errors": [], "errors_total": 0},
            "created_by": who.agent_id, "created_at": now, "updated_at": now,
            "started_at": None, "paused_at": None, "finished_at": None, "version": 1,
            "lease_owner": None, "lease_until": None,
            # Recipients' positions: the next one to give (`rows_total` + 1) and the
            # dispatcher's cursor (the next one to release).
            "rows_total": 0, "next_row": 1,
        }
        if schedule is not None:
            doc["schedule"] = self._schedule(schedule, now)
        if not await self.repository.insert_campaign(doc):
            existing = await self.repository.campaign(who.tenant_id, campaign_id)
            assert existing is not None
            return existing, None, False
        audience = None
        if rows:
            audience = await store_upload(self.repository, self.clock, doc, template, rows,
                                          self.contacts, checked)
        if schedule is not None:
            await self._require_startable(who, await self._get(who, campaign_id))
            await self._transition(who, campaign_id, "schedule",
                                   {"schedule": doc["schedule"]})
        return await self._get(who, campaign_id), audience, True

    async def add_recipients(self, who: Identity, campaign_id: str, rows: list[Row] | None,
                             csv_text: str | None, *, skip_invalid: bool = False
                             ) -> tuple[Audience, Document]:
        doc = await self._get(who, campaign_id)
        if doc["state"] not in EDITABLE:
            raise CampaignConflict(f"Recipients can only be added to a draft or scheduled "
                                   f"campaign; this one is {doc['state']}.", state=doc["state"])
        channel = await self._channel(who, doc["business_phone_number_id"])
        template = await self._template(who, channel, doc["template"]["name"],
                                        doc["template"]["language"], require=False)
        ignored: list[str] = []
        if csv_text is not None:
            try:
                rows, ignored = rows_from_csv(csv_text, body_text_of(template.get("components")
                                                                     or []))
            except (AudienceFileError, UnicodeDecodeError) as exc:
                raise InvalidInput(str(exc), code="bad_csv", field="body") from None
        checked = checked_audience(rows or [], template, skip_invalid)
        audience = await store_upload(self.repository, self.clock, doc, template,
                                       rows or [], self.contacts, checked)
        audience.ignored_columns = ignored
        return audience, await self._get(who, campaign_id)

    # -- schedule and state ----------------------------------------------------------------

    async def schedule(self, who: Identity, campaign_id: str, body: dict[str, Any]) -> Document:
        doc = await self._get(who, campaign_id)
        schedule = self._schedule(body, self.clock())
        await self._require_startable(who, doc)
        return await self._transition(who, campaign_id, "schedule", {"schedule": schedule})

    async def unschedule(self, who: Identity, campaign_id: str) -> Document:
        return await self._transition(who, campaign_id, "unschedule", {"schedule": None})

    async def act(self, who: Identity, campaign_id: str, action: str) -> Document:
        doc = await self._get(who, campaign_id)
        now = self.clock()
        if action in ("start", "resume") and doc["state"] not in (RUNNING, SCHEDULED):
            await self._require_startable(who, doc)
        extra: Document = {}
        if action == "start":
            extra = {"started_at": now}
        elif action == "pause":
            extra = {"paused_at": now}
        elif action == "cancel":
            extra = {"finished_at": now, "lease_owner": None}
        updated = await self._transition(who, campaign_id, action, extra)
        if action == "cancel" and doc["state"] != CANCELLED:
            # Answer at once: the queued recipients become not_sent in the background, a
            # chunk of positions at a time (a 100,000 campaign takes minutes on FerretDB).
            # Until it ends the campaign is cancelled with queued > 0, as a stop is.
            self._in_background(self.repository.give_up_queued(
                campaign_id, int(doc.get("next_row") or 1), int(updated.get("rows_total") or 0),
                "cancelled", now), campaign_id)
        return updated

    def _in_background(self, work: Coroutine[Any, Any, int], campaign_id: str) -> None:
        task = asyncio.create_task(work)
        self.background.add(task)

        def done(task: asyncio.Task[int]) -> None:
            self.background.discard(task)
            if not task.cancelled() and task.exception() is not None:
                log.warning("giving up a cancelled campaign's queued recipients failed; "
                            "the rest stay queued", exc_info=task.exception(),
                            extra={"campaign_id": campaign_id})
        task.add_done_callback(done)

    async def settled(self) -> None:
        """Wait for the background work started so far (tests, shutdown)."""
        while self.background:
            await asyncio.gather(*list(self.background), return_exceptions=True)

    async def _transition(self, who: Identity, campaign_id: str, action: str,
                          extra: Document) -> Document:
        for _ in range(3):  # the dispatcher may move the state meanwhile: decide again
            doc = await self._get(who, campaign_id)
            try:
                target = next_state(action, doc["state"], started=doc.get("started_at") is not
                                    None, has_schedule=doc.get("schedule") is not None)
            except StateConflict as exc:
                raise CampaignConflict(str(exc), state=exc.state) from None
            if target is None:
                return doc
            change = {"$set": {"state": target, "updated_at": self.clock(), **extra},
                      "$inc": {"version": 1}}
            if action == "resume" and target == RUNNING and doc.get("started_at") is None:
                change["$set"]["started_at"] = self.clock()
            if await self.repository.update(who.tenant_id, campaign_id, [doc["state"]], change):
                return await self._get(who, campaign_id)
        raise CampaignConflict("The campaign changed meanwhile; try again.", state=doc["state"])

    async def _require_startable(self, who: Identity, doc: Document) -> None:
        channel = await self._channel(who, doc["business_phone_number_id"])
        template = await self._template(who, channel, doc["template"]["name"],
                                        doc["template"]["language"], require=False)
        status = str(template.get("status") or "unknown")
        if status.upper() != "APPROVED":
            raise NotStartable(f"The template is {status.lower()}; only approved templates "
                               "can be sent.", code="template_not_approved",
                               reason="template_not_approved")
        if int(doc.get("counters", {}).get("queued", 0)) == 0:
            raise NotStartable("The campaign has no recipient to send to; add some first.")

    def _schedule(self, body: dict[str, Any], now: datetime) -> Document:
        try:
            at_utc = to_utc(str(body.get("at")), str(body.get("time_zone")), now)
        except ScheduleError as exc:
            raise InvalidInput(str(exc), code="bad_schedule", field="schedule") from None
        return {"at": body["at"], "time_zone": body["time_zone"], "at_utc": at_utc}

    # -- reads -----------------------------------------------------------------------------

    async def page(self, who: Identity, state: str | None, cursor: str | None,
                   limit: int) -> tuple[list[Document], str | None]:
        before = _decode_cursor(cursor) if cursor else None
        docs = await self.repository.page(who.tenant_id, state, before, limit + 1)
        more = len(docs) > limit
        docs = docs[:limit]
        next_cursor = _encode_cursor(docs[-1]["created_at"], docs[-1]["_id"]) if more else None
        return docs, next_cursor

    async def get(self, who: Identity, campaign_id: str) -> Document:
        return await self._get(who, campaign_id)

    async def report_page(self, who: Identity, campaign_id: str, status: str | None,
                          cursor: str | None, limit: int
                          ) -> tuple[Document, dict[str, int], dict[str, float],
                                     list[ReportRow], str | None]:
        doc = await self._get(who, campaign_id)
        totals = Totals()
        items: list[ReportRow] = []
        after = int(cursor) if cursor and cursor.isdigit() else -1
        next_cursor = None
        async for rows in self._rows(who, doc):
            for row in rows:
                totals.add(row)
                if row.row > after and (status is None or row.status == status):
                    if len(items) < limit:
                        items.append(row)
                    elif next_cursor is None:
                        next_cursor = str(items[-1].row)
        return doc, totals.counts, totals.rates(), items, next_cursor

    async def report_csv(self, who: Identity, campaign_id: str) -> AsyncIterator[str]:
        doc = await self._get(who, campaign_id)
        header = True
        async for rows in self._rows(who, doc):
            for line in csv_lines(rows, header):
                yield line
            header = False
        if header:
            for line in csv_lines([], True):
                yield line

    async def _rows(self, who: Identity, doc: Document) -> AsyncIterator[list[ReportRow]]:
        since = doc.get("started_at") or doc["created_at"]
        async for recipients in self.repository.all_recipients(doc["_id"],
                                                               int(doc.get("rows_total") or 0)):
            released = [r for r in recipients if r.get("state") == "released"]
            ids = [f"{r['conversation_id']}/cmd:{r['command_id']}" for r in released]
            messages = await self.repository.messages(who.tenant_id, ids)
            inbound, others = await self.repository.thread_facts(
                who.tenant_id, [r["conversation_id"] for r in released], doc["_id"], since)
            yield [row_of(r, messages.get(f"{r['conversation_id']}/cmd:{r['command_id']}"),
                          inbound.get(r["conversation_id"], ()),
                          others.get(r["conversation_id"], ())) for r in recipients]

    async def _get(self, who: Identity, campaign_id: str) -> Document:
        doc = await self.repository.campaign(who.tenant_id, campaign_id)
        if doc is None:
            raise NotFound("No such campaign.", code="campaign_not_found")
        return doc

    async def _channel(self, who: Identity, phone_number_id: str) -> Channel:
        return await own_channel(self.repository, who, phone_number_id)

    async def _template(self, who: Identity, channel: Channel, name: str, language: str,
                        require: bool = True) -> Document:
        template = await self.repository.template(channel.waba_id, name, language)
        if template is not None and template.get("tenant_id") not in (None, who.tenant_id):
            template = None
        if template is None:
            if require:
                raise NotFound(f"No template {name} ({language}) on this number's account.",
                               code="template_not_found")
            return {}
        return template



def _encode_cursor(at: datetime, cid: str) -> str:
    # The same keyset cursor as the conversation list's: (time, id), newest first.
    return encode_list_cursor(ListPosition(at, cid))


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        position = decode_list_cursor(cursor)
    except BadCursor:
        raise BadRequest("The cursor is not one of ours.", code="bad_cursor") from None
    return position.last_activity_at, position.conversation_id
