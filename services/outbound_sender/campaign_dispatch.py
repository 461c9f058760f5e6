"""The campaign dispatcher: releases due campaigns' recipients as bulk SendTemplate commands.

Each sender replica looks for due campaigns every ``poll_seconds`` and claims each one with a
lease (a conditional update on the campaign: no two replicas release one campaign at once).
Per claimed campaign, a loop of small steps, one every ``tick_seconds`` at most, each sized by
the release budget (two ticks of the rate at most: a steady stream, not bursts). At most every
``check_seconds`` it renews the lease and re-reads the campaign (paused or cancelled: stop) and
its template (not APPROVED: the campaign stops with the reason and the rest is not sent). A
step skips opted-out customers for MARKETING templates and publishes the commands
(deterministic command ids: a re-release after a crash is deduplicated by the sender's
ledger); its writes (marks, hourly count, then the cursor) run while the next step reads and
publishes, and the cursor moves range after range, each after its own marks. A step is a range
of positions (``next_row`` onwards) read by ``_id``, so it costs the same at 100 recipients as
at 100,000 (docs/campaigns.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from services.outbound_sender.campaign_pacing import (
    ReleaseBudget,
    campaign_rate,
    hold_until,
    limit_room,
    step_size,
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
)
from shared.channels import Channel
from shared.events import SendTemplate, TemplateComponent
from shared.events.commands import Command

log = logging.getLogger(__name__)
Document = dict[str, Any]


class CampaignStore(Protocol):
    async def due(self, now: datetime) -> list[Document]: ...
    async def claim(self, campaign_id: str, owner: str, now: datetime,
                    lease_seconds: float) -> Document | None: ...
    async def release_lease(self, campaign_id: str, owner: str) -> None: ...
    async def set_state(self, campaign_id: str, from_state: str, change: Document) -> bool: ...
    async def set_hold(self, campaign_id: str, hold: Document | None) -> None: ...
    async def template(self, waba_id: str, name: str, language: str) -> Document | None: ...
    async def at_positions(self, campaign_id: str, first: int,
                           last: int) -> list[Document]: ...
    async def advance(self, campaign_id: str, owner: str, from_row: int,
                      to_row: int) -> bool: ...
    async def opted_out(self, tenant_id: str, number: str,
                        wa_ids: Sequence[str]) -> set[str]: ...
    async def mark(self, campaign_id: str, ids: Sequence[str], state: str, now: datetime,
                   reason: str | None = None) -> int: ...
    async def give_up(self, campaign_id: str, first: int, last: int, reason: str,
                      now: datetime) -> int: ...
    async def count_releases(self, number: str, now: datetime, count: int) -> None: ...
    async def released_in_window(self, number: str,
                                 now: datetime) -> tuple[int, datetime | None]: ...


CommandSink = Callable[[Sequence[Command]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class DispatchConfig:
    owner: str
    poll_seconds: float = 1.0
    lease_seconds: float = 10.0
    # A step every ``tick_seconds`` at most: small, even releases (the bucket sizes each step)
    # instead of a burst of ``max_batch`` a second that the sender's loop digests at once.
    tick_seconds: float = 0.1
    # Lease renewal and the campaign, channel and template re-read happen this often at most
    # (not every step): a pause or a disabled template takes effect within this.
    check_seconds: float = 0.25
    lead_seconds: float = 1.0
    campaign_share: float = 0.9
    throughput_share: float = 1.0
    max_batch: int = 500
    limit_refresh_seconds: float = 10.0


class CampaignDispatcher:
    def __init__(self, store: CampaignStore, channels: ChannelLookup, publish: CommandSink,
                 backlog: Callable[[str], int], config: DispatchConfig,
                 clock: Callable[[], datetime],
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.store = store
        self.channels = channels
        self.publish = publish
        self.backlog = backlog
        self.config = config
        self.clock = clock
        self.monotonic = monotonic
        self.sleep = sleep
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self._stopping = False

    async def run(self) -> None:
        while not self._stopping:
            try:
                await self.poll_once()
            except Exception:
                log.warning("campaign poll failed; trying again", exc_info=True)
            await self.sleep(self.config.poll_seconds)

    async def poll_once(self) -> None:
        now = self.clock()
        for doc in await self.store.due(now):
            cid = doc["_id"]
            if cid in self.tasks and not self.tasks[cid].done():
                continue
            claimed = await self.store.claim(cid, self.config.owner, now,
                                             self.config.lease_seconds)
            if claimed is not None:
                self.tasks[cid] = asyncio.create_task(self._campaign(cid))

    async def stop(self) -> None:
        self._stopping = True
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for cid in list(self.tasks):
            try:
                await self.store.release_lease(cid, self.config.owner)
            except Exception:
                log.info("could not release a campaign lease; it expires", exc_info=True)

    async def _campaign(self, campaign_id: str) -> None:
        run = _Run(self, campaign_id)
        try:
            while True:
                started = self.monotonic()
                if not await run.step():
                    break
                # The next step a tick after this one started: the step's own time counts.
                await self.sleep(max(0.0, self.config.tick_seconds -
                                     (self.monotonic() - started)))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("campaign dispatch failed; the lease expires and it is taken again",
                        exc_info=True, extra={"campaign_id": campaign_id})
        finally:
            if run.writes is not None:
                # Let the last step's marks and cursor land (a stop cancels this task, not
                # them); otherwise the next claim re-reads that range, which is harmless too.
                await asyncio.gather(run.writes, return_exceptions=True)


class _Run:
    """One claimed campaign's release loop state.

    A step publishes a range and hands its writes (skipped and released marks, the hourly
    count, the cursor) to a task, so the next step's read and publish overlap them; a step
    waits for the previous step's writes before starting its own, so the cursor still moves
    range after range and only after that range's marks. A crash re-reads at most the ranges
    in flight (two), whose commands the sender's ledger drops.
    """

    def __init__(self, dispatcher: CampaignDispatcher, campaign_id: str) -> None:
        self.d = dispatcher
        self.campaign_id = campaign_id
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
        d, cid, now = self.d, self.campaign_id, self.d.clock()
        if self.writes is not None and self.writes.done() and not self.writes.result():
            return False  # another replica moved the cursor
        mono = d.monotonic()
        if mono - self.checked_at >= d.config.check_seconds:
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
            await d.store.set_state(cid, RUNNING, {"state": COMPLETED, "finished_at": now,
                                                   "updated_at": now, "lease_owner": None})
            return False
        allowance = self.budget.allowance(
            d.monotonic(), d.backlog(channel.phone_number_id),
            step_size(self.budget.rate, d.config.tick_seconds, d.config.max_batch))
        limit = channel.messaging_limit
        if limit is not None:
            room = await self._limit_room(channel.phone_number_id, limit, now)
            if room == 0:
                if not self.held:
                    self.held = True
                    if not await self.settle():
                        return False
                    await d.store.set_hold(cid, {"reason": "messaging_limit",
                                                 "until": hold_until(self.window_oldest)})
                return True
            allowance = min(allowance, room)
        if self.held:
            self.held = False
            if not await self.settle():
                return False
            await d.store.set_hold(cid, None)
        if allowance <= 0:
            return True
        last = min(first + allowance - 1, total)
        # Positions already released, skipped or not sent (a re-run after a crash, a cancel
        # racing) are passed over; a position never stored (a failed upload) too.
        batch = [r for r in await d.store.at_positions(cid, first, last)
                 if r.get("state") == QUEUED]
        skipped: list[str] = []
        if batch and str(template.get("category") or doc["template"].get("category") or
                         "").upper() == "MARKETING":
            opted = await d.store.opted_out(doc["tenant_id"], channel.phone_number_id,
                                            [r["wa_id"] for r in batch])
            if opted:
                skipped = [r["_id"] for r in batch if r["wa_id"] in opted]
                batch = [r for r in batch if r["wa_id"] not in opted]
        if batch:
            await d.publish([_command(doc, r, now) for r in batch])
            self.budget.spend(len(batch))
            self.window_count += len(batch)
        if not await self.settle():
            return False
        self.cursor = last + 1
        self.writes = asyncio.create_task(self._write(
            channel.phone_number_id, skipped, [r["_id"] for r in batch], now, first, last))
        return True

    async def _check(self, now: datetime) -> bool:
        """Renew the lease and re-read the campaign, its channel and its template; False
        (the campaign stopped if need be) when this replica must stop releasing it."""
        d, cid = self.d, self.campaign_id
        doc = await d.store.claim(cid, d.config.owner, now, d.config.lease_seconds)
        if doc is None:
            return False  # paused, cancelled, finished, or another replica took it
        if doc["state"] == SCHEDULED:
            if not await d.store.set_state(cid, SCHEDULED, {"state": RUNNING,
                                                            "started_at": now,
                                                            "updated_at": now}):
                return False
            doc["state"] = RUNNING
        if not self.doc:  # the first check: from then on the cursor is this run's own
            self.cursor = int(doc.get("next_row") or 1)
        self.doc = doc
        channel = await d.channels.find(doc["business_phone_number_id"])
        if channel is None or channel.tenant_id != doc["tenant_id"]:
            await self._stop("channel_not_found", "The business number is no longer "
                             "configured for this tenant.")
            return False
        template = await d.store.template(channel.waba_id, doc["template"]["name"],
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
                campaign_rate(channel.throughput_mps, d.config.throughput_share,
                              d.config.campaign_share), d.config.lead_seconds)
        return True

    async def _write(self, number: str, skipped: list[str], released: list[str],
                     now: datetime, first: int, last: int) -> bool:
        store, cid = self.d.store, self.campaign_id
        if skipped:
            await store.mark(cid, skipped, SKIPPED, now, "opted_out")
        if released:
            released_at = self.d.clock()
            # Counted before the mark: a crash between them counts a batch twice (the limit
            # errs on the safe side), never not at all.
            await store.count_releases(number, released_at, len(released))
            await store.mark(cid, released, RELEASED, released_at)
        # Only after the marks: a crash before this re-reads the same positions (the sender's
        # ledger drops the re-published commands).
        return await store.advance(cid, self.d.config.owner, first, last + 1)

    async def settle(self) -> bool:
        """Wait for the previous step's writes; False if its cursor move failed."""
        writes, self.writes = self.writes, None
        return True if writes is None else await writes

    async def _limit_room(self, number: str, limit: int, now: datetime) -> int:
        mono = self.d.monotonic()
        if mono - self.window_read_at >= self.d.config.limit_refresh_seconds:
            self.window_count, self.window_oldest = await self.d.store.released_in_window(
                number, now)
            self.window_read_at = mono
        room = limit_room(limit, self.window_count)
        return room if room is not None else 1 << 30

    async def _stop(self, code: str, detail: str) -> None:
        await self.settle()
        doc, now = self.doc, self.d.clock()
        if await self.d.store.set_state(doc["_id"], RUNNING, {
                "state": STOPPED, "stop_reason": {"code": code, "detail": detail},
                "finished_at": now, "updated_at": now, "lease_owner": None}):
            await self.d.store.give_up(doc["_id"], self.cursor,
                                       int(doc.get("rows_total") or 0), code, now)
            log.info("campaign stopped", extra={"campaign_id": doc["_id"], "reason": code})


def _command(campaign: Document, recipient: Document, now: datetime) -> SendTemplate:
    return SendTemplate(
        occurred_at=now, tenant_id=campaign["tenant_id"],
        conversation_id=recipient["conversation_id"], command_id=recipient["command_id"],
        actor_id=f"campaign:{campaign['_id']}",
        business_phone_number_id=campaign["business_phone_number_id"],
        customer_wa_id=recipient["wa_id"], priority="bulk", campaign_id=campaign["_id"],
        template_name=campaign["template"]["name"], language=campaign["template"]["language"],
        components=[TemplateComponent.model_validate(c) for c in recipient.get("components")
                    or []],
        rendered_text=recipient.get("rendered_text"), reference=f"campaign:{campaign['_id']}")
