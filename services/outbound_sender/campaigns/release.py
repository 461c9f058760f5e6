"""One claimed campaign's release loop, a step at a time (dispatch.py runs the loop).

A step: at most every ``check_seconds``, renew the lease and re-read the campaign (paused or
cancelled: stop), its channel and its template (not APPROVED: the campaign stops with the
reason and the rest is not sent); then size the step by the release budget and the messaging
limit (pacing.py), read that range of positions (``next_row`` onwards, by ``_id``: it costs the
same at 100 recipients as at 100,000), skip opted-out customers for MARKETING templates, and
publish the commands (deterministic command ids: a re-release after a crash is deduplicated by
the sender's ledger).

A step hands its writes (skipped and released marks, the hourly count, the cursor) to a task, so
the next step's read and publish overlap them; a step waits for the previous step's writes
before starting its own, so the cursor still moves range after range and only after that
range's marks. A crash re-reads at most the ranges in flight (two), whose commands the sender's
ledger drops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from services.outbound_sender.campaigns.pacing import (
    ReleaseBudget,
    campaign_rate,
    hold_until,
    limit_room,
    step_size,
)
from services.outbound_sender.campaigns.ports import (
    CampaignStore,
    CommandSink,
    DispatchConfig,
    Document,
)
from services.outbound_sender.ports import ChannelLookup
from shared.campaigns import (
    COMPLETED,
    QUEUED,
    RELEASED,
    RUNNING,
    SCHEDULED,
    SKIPPED,
    STOPPED,
    customer_key,
)
from shared.channels import Channel
from shared.events import SendTemplate, TemplateComponent

log = logging.getLogger(__name__)


class CampaignRun:
    """One claimed campaign's release loop state."""

    def __init__(self, campaign_id: str, *, store: CampaignStore, channels: ChannelLookup,
                 publish: CommandSink, backlog: Callable[[str], int], config: DispatchConfig,
                 clock: Callable[[], datetime], monotonic: Callable[[], float]) -> None:
        self.campaign_id = campaign_id
        self.store = store
        self.channels = channels
        self.publish = publish
        self.backlog = backlog
        self.config = config
        self.clock = clock
        self.monotonic = monotonic
        self.budget: ReleaseBudget | None = None
        self.window_count = 0
        self.window_oldest: datetime | None = None
        self.window_read_at = -1e18
        self.held = False
        self.doc: Document = {}
        self.channel: Channel | None = None
        self.template: Document = {}
        self.checked_at = -1e18
        # The next position to release: ahead of the stored cursor while writes are pending.
        self.cursor = 0
        self.writes: asyncio.Task[bool] | None = None

    async def step(self) -> bool:
        """One batch; False when this replica is done with the campaign."""
        store, config, cid, now = self.store, self.config, self.campaign_id, self.clock()
        if self.writes is not None and self.writes.done() and not self.writes.result():
            return False  # another replica moved the cursor
        mono = self.monotonic()
        if mono - self.checked_at >= config.check_seconds:
            # The writes first: FerretDB v1 applies an update as read, change, write back, so
            # the lease renewal racing the counters' $inc or the cursor move on the same
            # campaign document could undo them. Campaign updates stay one at a time.
            if not await self.settle():
                return False
            if not await self._check(now):
                await self.settle()
                return False
            self.checked_at = mono
        doc, channel, template = self.doc, self.channel, self.template
        assert channel is not None
        assert self.budget is not None
        first, total = self.cursor, int(doc.get("rows_total") or 0)
        if first > total:
            # Before the limit: a campaign that reached the limit with its last recipient is
            # complete, not held.
            if not await self.settle():
                return False
            await store.set_state(cid, RUNNING, {"state": COMPLETED, "finished_at": now,
                                                 "updated_at": now, "lease_owner": None})
            return False
        allowance = self.budget.allowance(
            self.monotonic(), self.backlog(channel.phone_number_id),
            step_size(self.budget.rate, config.tick_seconds, config.max_batch))
        limit = channel.messaging_limit
        if limit is not None:
            room = await self._limit_room(channel.phone_number_id, limit, now)
            if room == 0:
                if not self.held:
                    self.held = True
                    if not await self.settle():
                        return False
                    await store.set_hold(cid, {"reason": "messaging_limit",
                                               "until": hold_until(self.window_oldest)})
                return True
            allowance = min(allowance, room)
        if self.held:
            self.held = False
            if not await self.settle():
                return False
            await store.set_hold(cid, None)
        if allowance <= 0:
            return True
        last = min(first + allowance - 1, total)
        # Positions already released, skipped or not sent (a re-run after a crash, a cancel
        # racing) are passed over; a position never stored (a failed upload) too.
        batch = [r for r in await store.at_positions(cid, first, last)
                 if r.get("state") == QUEUED]
        skipped: list[str] = []
        if batch and str(template.get("category") or doc["template"].get("category") or
                         "").upper() == "MARKETING":
            opted = await store.opted_out(doc["tenant_id"], channel.phone_number_id,
                                          [_customer(r) for r in batch])
            if opted:
                skipped = [r["_id"] for r in batch if _customer(r) in opted]
                batch = [r for r in batch if _customer(r) not in opted]
        if batch:
            await self.publish([release_command(doc, r, now) for r in batch])
            self.budget.spend(len(batch))
            self.window_count += len(batch)
        if not await self.settle():
            return False
        self.cursor = last + 1
        self.writes = asyncio.create_task(self._write(
            channel.phone_number_id, skipped, [r["_id"] for r in batch], now, first, last))
        return True

    async def settle(self) -> bool:
        """Wait for the previous step's writes; False if its cursor move failed."""
        writes, self.writes = self.writes, None
        return True if writes is None else await writes

    async def _check(self, now: datetime) -> bool:
        """Renew the lease and re-read the campaign, its channel and its template; False
        (the campaign stopped if need be) when this replica must stop releasing it."""
        store, config, cid = self.store, self.config, self.campaign_id
        doc = await store.claim(cid, config.owner, now, config.lease_seconds)
        if doc is None:
            return False  # paused, cancelled, finished, or another replica took it
        if doc["state"] == SCHEDULED:
            if not await store.set_state(cid, SCHEDULED, {"state": RUNNING,
                                                          "started_at": now,
                                                          "updated_at": now}):
                return False
            doc["state"] = RUNNING
        if not self.doc:  # the first check: from then on the cursor is this run's own
            self.cursor = int(doc.get("next_row") or 1)
        self.doc = doc
        channel = await self.channels.find(doc["business_phone_number_id"])
        if channel is None or channel.tenant_id != doc["tenant_id"]:
            await self._stop("channel_not_found", "The business number is no longer "
                             "configured for this tenant.")
            return False
        template = await store.template(channel.waba_id, doc["template"]["name"],
                                        doc["template"]["language"]) or {}
        status = str(template.get("status") or "UNKNOWN").upper()
        if status != "APPROVED":
            reason = template.get("reason")
            detail = f"The template was {status.lower()} by Meta" + (
                f" ({reason})." if reason and reason != "NONE" else ".") + \
                " The remaining recipients were not sent."
            await self._stop(f"template_{status.lower()}", detail)
            return False
        self.channel, self.template = channel, template
        if self.budget is None:
            self.budget = ReleaseBudget(
                campaign_rate(channel.throughput_mps, config.throughput_share,
                              config.campaign_share), config.lead_seconds)
        return True

    async def _write(self, number: str, skipped: list[str], released: list[str],
                     now: datetime, first: int, last: int) -> bool:
        store, cid = self.store, self.campaign_id
        if skipped:
            await store.mark(cid, skipped, SKIPPED, now, "opted_out")
        if released:
            released_at = self.clock()
            # Counted before the mark: a crash between them counts a batch twice (the limit
            # errs on the safe side), never not at all.
            await store.count_releases(number, released_at, len(released))
            await store.mark(cid, released, RELEASED, released_at)
        # Only after the marks: a crash before this re-reads the same positions (the sender's
        # ledger drops the re-published commands).
        return await store.advance(cid, self.config.owner, first, last + 1)

    async def _limit_room(self, number: str, limit: int, now: datetime) -> int:
        mono = self.monotonic()
        if mono - self.window_read_at >= self.config.limit_refresh_seconds:
            self.window_count, self.window_oldest = await self.store.released_in_window(
                number, now)
            self.window_read_at = mono
        room = limit_room(limit, self.window_count)
        return room if room is not None else 1 << 30

    async def _stop(self, code: str, detail: str) -> None:
        await self.settle()
        doc, now = self.doc, self.clock()
        if await self.store.set_state(doc["_id"], RUNNING, {
                "state": STOPPED, "stop_reason": {"code": code, "detail": detail},
                "finished_at": now, "updated_at": now, "lease_owner": None}):
            await self.store.give_up(doc["_id"], self.cursor,
                                     int(doc.get("rows_total") or 0), code, now)
            log.info("campaign stopped", extra={"campaign_id": doc["_id"], "reason": code})


def _customer(recipient: Document) -> str:
    """The recipient's opt-out key: the number, or the BSUID of a row by BSUID."""
    return customer_key(recipient.get("wa_id"), recipient.get("user_id"))


def release_command(campaign: Document, recipient: Document, now: datetime) -> SendTemplate:
    """A recipient's bulk SendTemplate (its command id was fixed at upload: re-releases dedupe)."""
    return SendTemplate(
        occurred_at=now, tenant_id=campaign["tenant_id"],
        conversation_id=recipient["conversation_id"], command_id=recipient["command_id"],
        actor_id=f"campaign:{campaign['_id']}",
        business_phone_number_id=campaign["business_phone_number_id"],
        # A row by BSUID has no number (docs/campaigns.md): the sender sends ``recipient``.
        customer_wa_id=recipient.get("wa_id"), customer_user_id=recipient.get("user_id"),
        priority="bulk", campaign_id=campaign["_id"],
        template_name=campaign["template"]["name"], language=campaign["template"]["language"],
        components=[TemplateComponent.model_validate(c) for c in recipient.get("components")
                    or []],
        rendered_text=recipient.get("rendered_text"), reference=f"campaign:{campaign['_id']}")
