from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from services.outbound_sender.campaigns.dispatch import CampaignDispatcher
from services.outbound_sender.campaigns.pacing import (
    ReleaseBudget,
    campaign_rate,
    hold_until,
    lease_is_free,
    limit_room,
)
from services.outbound_sender.campaigns.ports import DispatchConfig
from shared.campaigns import recipient_id, recipient_ids
from shared.channels import Channel
from shared.events.commands import Command, SendTemplate

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
CHANNEL = Channel(phone_number_id="p", tenant_id="acme", waba_id="w", throughput_mps=80)


class TestPacing:
    def test_budget_releases_at_the_rate_and_saves_at_most_the_lead(self) -> None:
        budget = ReleaseBudget(rate=100, lead_seconds=1.0)
        assert budget.allowance(0.0, 0, 500) == 0
        assert budget.allowance(0.5, 0, 500) == 50
        budget.spend(50)
        assert budget.allowance(10.0, 0, 500) == 100  # never more than one second ahead

    def test_sender_backlog_holds_releases(self) -> None:
        budget = ReleaseBudget(rate=100, lead_seconds=1.0)
        budget.allowance(0.0, 0, 500)
        assert budget.allowance(1.0, 80, 500) == 20
        assert budget.allowance(2.0, 150, 500) == 0

    def test_rate_and_limit_arithmetic(self) -> None:
        assert campaign_rate(80, 1.0, 0.9) == 72.0
        assert campaign_rate(1000, 0.5, 0.9) == 450.0
        assert limit_room(1000, 990) == 10
        assert limit_room(1000, 1200) == 0
        assert limit_room(None, 10**9) is None
        assert hold_until(T0) == T0 + timedelta(hours=24)

    def test_lease_rule(self) -> None:
        assert lease_is_free(None, None, "a", T0)
        assert lease_is_free("a", T0 + timedelta(seconds=5), "a", T0)
        assert not lease_is_free("b", T0 + timedelta(seconds=5), "a", T0)
        assert lease_is_free("b", T0 - timedelta(seconds=1), "a", T0)


class FakeStore:
    """The dispatcher's store in memory, with the lease rule of the real one."""

    def __init__(self, campaign: dict[str, Any], recipients: list[dict[str, Any]],
                 template: dict[str, Any]) -> None:
        self.campaign = campaign
        self.recipients = {r["_id"]: r for r in recipients}
        self.template_doc = template
        self.opted: set[str] = set()
        self.released_24h = 0
        self.reads: list[tuple[int, int]] = []

    async def due(self, now: datetime) -> list[dict[str, Any]]:
        return [self.campaign] if self.campaign["state"] in ("running", "scheduled") else []

    async def claim(self, campaign_id: str, owner: str, now: datetime,
                    lease_seconds: float) -> dict[str, Any] | None:
        c = self.campaign
        if c["state"] not in ("running", "scheduled") or not lease_is_free(
                c.get("lease_owner"), c.get("lease_until"), owner, now):
            return None
        c["lease_owner"], c["lease_until"] = owner, now + timedelta(seconds=lease_seconds)
        return dict(c)

    async def release_lease(self, campaign_id: str, owner: str) -> None:
        if self.campaign.get("lease_owner") == owner:
            self.campaign["lease_owner"] = None

    async def set_state(self, campaign_id: str, from_state: str, change: dict[str, Any]) -> bool:
        if self.campaign["state"] != from_state:
            return False
        self.campaign.update(change)
        return True

    async def set_hold(self, campaign_id: str, hold: dict[str, Any] | None) -> None:
        self.campaign["hold"] = hold

    async def template(self, waba_id: str, name: str, language: str) -> dict[str, Any] | None:
        return self.template_doc

    async def at_positions(self, campaign_id: str, first: int,
                           last: int) -> list[dict[str, Any]]:
        self.reads.append((first, last))
        ids = recipient_ids(campaign_id, first, last)
        return [dict(self.recipients[i]) for i in ids if i in self.recipients]

    async def advance(self, campaign_id: str, owner: str, from_row: int, to_row: int) -> bool:
        c = self.campaign
        if c.get("lease_owner") != owner or c.get("next_row") != from_row:
            return False
        c["next_row"] = to_row
        return True

    async def opted_out(self, tenant_id: str, number: str, wa_ids: Sequence[str]) -> set[str]:
        return self.opted & set(wa_ids)

    async def mark(self, campaign_id: str, ids: Sequence[str], state: str, now: datetime,
                   reason: str | None = None) -> int:
        moved = [i for i in ids if self.recipients[i]["state"] == "queued"]
        for i in moved:
            self.recipients[i].update(state=state, reason=reason)
        return len(moved)

    async def give_up(self, campaign_id: str, first: int, last: int, reason: str,
                      now: datetime) -> int:
        queued = [r for i, r in self.recipients.items() if r["state"] == "queued"
                  and i in recipient_ids(campaign_id, first, last)]
        for r in queued:
            r.update(state="not_sent", reason=reason)
        return len(queued)

    async def count_releases(self, number: str, now: datetime, count: int) -> None:
        self.released_24h += count

    async def released_in_window(self, number: str,
                                 now: datetime) -> tuple[int, datetime | None]:
        return self.released_24h, T0 if self.released_24h else None


class Channels:
    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    async def find(self, phone_number_id: str) -> Channel | None:
        return self.channel


class Clock:
    def __init__(self) -> None:
        self.mono = 0.0

    def monotonic(self) -> float:
        return self.mono

    async def sleep(self, seconds: float) -> None:
        self.mono += seconds
        await asyncio.sleep(0)  # let the test (and other tasks) run, as a real sleep would


def make(n: int = 10, category: str = "MARKETING", status: str = "APPROVED",
         channel: Channel = CHANNEL) -> tuple[FakeStore, list[Command], Clock,
                                              CampaignDispatcher]:
    campaign = {"_id": "c1", "tenant_id": "acme", "business_phone_number_id": "p",
                "state": "running", "template": {"name": "promo", "language": "en_US",
                                                 "category": category},
                "rows_total": n, "next_row": 1}
    recipients = [{"_id": recipient_id("c1", i + 1), "wa_id": f"49151000000{i:02d}", "row": i,
                   "state": "queued", "conversation_id": f"p:49151000000{i:02d}",
                   "command_id": f"cmd{i}", "components": []} for i in range(n)]
    store = FakeStore(campaign, recipients, {"status": status, "category": category})
    published: list[Command] = []
    clock = Clock()

    async def publish(commands: Sequence[Command]) -> None:
        published.extend(commands)

    dispatcher = CampaignDispatcher(store, Channels(channel), publish, lambda number: 0,
                                    DispatchConfig(owner="a"), lambda: T0,
                                    monotonic=clock.monotonic, sleep=clock.sleep)
    return store, published, clock, dispatcher


async def run_to_end(dispatcher: CampaignDispatcher) -> None:
    await dispatcher.poll_once()
    await dispatcher.tasks["c1"]


class TestDispatcher:
    async def test_releases_every_recipient_once_as_bulk_then_completes(self) -> None:
        store, published, _, dispatcher = make(200)
        await run_to_end(dispatcher)
        assert len({c.command_id for c in published}) == len(published) == 200
        assert all(isinstance(c, SendTemplate) and c.priority == "bulk"
                   and c.campaign_id == "c1" for c in published)
        assert store.campaign["state"] == "completed"

    async def test_paced_at_the_campaign_share_of_the_number(self) -> None:
        _, _published, clock, dispatcher = make(144)
        await run_to_end(dispatcher)
        # 72 per second (80 x 0.9): 144 take about two seconds of the fake clock.
        assert 1.8 <= clock.mono <= 2.6

    async def test_opted_out_customers_are_skipped_for_marketing(self) -> None:
        store, published, _, dispatcher = make(5)
        store.opted = {"4915100000001"}
        await run_to_end(dispatcher)
        assert "4915100000001" not in {c.conversation_id.split(":")[1] for c in published}
        assert store.recipients[recipient_id("c1", 2)]["reason"] == "opted_out"

    async def test_utility_templates_still_go_to_opted_out_customers(self) -> None:
        store, published, _, dispatcher = make(5, category="UTILITY")
        store.opted = {"4915100000001"}
        await run_to_end(dispatcher)
        assert len(published) == 5

    async def test_a_disabled_template_stops_the_campaign_with_the_reason(self) -> None:
        store, published, _, dispatcher = make(5, status="DISABLED")
        await run_to_end(dispatcher)
        assert published == []
        assert store.campaign["state"] == "stopped"
        assert store.campaign["stop_reason"]["code"] == "template_disabled"
        assert {r["state"] for r in store.recipients.values()} == {"not_sent"}

    async def test_another_replicas_lease_is_respected(self) -> None:
        store, published, _, dispatcher = make(5)
        store.campaign.update(lease_owner="b", lease_until=T0 + timedelta(seconds=5))
        await dispatcher.poll_once()
        assert dispatcher.tasks == {}
        assert published == []

    async def test_pause_stops_releasing(self) -> None:
        store, published, _clock, dispatcher = make(500)

        async def publish(commands: Sequence[Command]) -> None:
            published.extend(commands)
            store.campaign["state"] = "paused"  # the agent pauses after the first batch

        dispatcher.publish = publish
        await run_to_end(dispatcher)
        assert 0 < len(published) < 100
        assert store.campaign["state"] == "paused"

    async def test_messaging_limit_holds_the_campaign(self) -> None:
        store, published, _, dispatcher = make(
            20, channel=CHANNEL.model_copy(update={"messaging_limit": 10}))
        store.released_24h = 4
        await dispatcher.poll_once()
        for _ in range(200):
            await asyncio.sleep(0)
            if store.campaign.get("hold"):
                break
        await dispatcher.stop()
        assert len(published) == 6
        assert store.campaign["hold"]["reason"] == "messaging_limit"

    async def test_each_step_reads_the_next_range_of_positions_once(self) -> None:
        store, published, _, dispatcher = make(
            1200, channel=CHANNEL.model_copy(update={"messaging_limit": None,
                                                     "throughput_mps": 1000}))
        await run_to_end(dispatcher)
        assert len(published) == 1200
        starts = [first for first, _ in store.reads]
        assert starts == sorted(set(starts))  # never the same range twice
        assert store.reads[0][0] == 1
        assert store.reads[-1][1] == 1200
        assert all(last - first < 500 for first, last in store.reads)
        assert store.campaign["next_row"] == 1201
        assert store.released_24h == 1200  # the hourly counters follow the releases

    async def test_positions_not_queued_or_missing_are_passed_over(self) -> None:
        store, published, _, dispatcher = make(10)
        store.recipients[recipient_id("c1", 3)]["state"] = "released"  # before a crash
        store.recipients[recipient_id("c1", 4)]["state"] = "not_sent"
        del store.recipients[recipient_id("c1", 5)]  # an upload that never stored it
        await run_to_end(dispatcher)
        assert len(published) == 7
        assert store.campaign["state"] == "completed"

    async def test_a_moved_cursor_ends_this_replicas_run(self) -> None:
        store, published, _, dispatcher = make(10)
        store.campaign["next_row"] = 1

        async def publish(commands: Sequence[Command]) -> None:
            published.extend(commands)
            store.campaign["next_row"] = 99  # another replica took over meanwhile

        dispatcher.publish = publish
        await run_to_end(dispatcher)
        assert store.campaign["next_row"] == 99


class TestOverlappedSteps:
    async def test_the_campaign_is_re_read_at_most_every_check_interval(self) -> None:
        store, published, clock, dispatcher = make(
            900, channel=CHANNEL.model_copy(update={"throughput_mps": 1000}))
        claims = 0
        claim = store.claim

        async def counting_claim(*args: Any) -> dict[str, Any] | None:
            nonlocal claims
            claims += 1
            return await claim(*args)

        patched: Any = store
        patched.claim = counting_claim
        await run_to_end(dispatcher)
        assert len(published) == 900
        steps = len(store.reads)
        # poll_once claims once; the run re-reads every 0.25 s of its ~1 s, not every step.
        assert claims - 1 <= clock.mono / 0.25 + 1 < steps

    async def test_next_step_overlaps_the_writes_and_the_cursor_still_moves_in_order(
            self) -> None:
        store, published, _, dispatcher = make(
            1000, channel=CHANNEL.model_copy(update={"throughput_mps": 1000,
                                                     "messaging_limit": None}))
        events: list[tuple[str, int]] = []
        at_positions, mark, advance = store.at_positions, store.mark, store.advance

        async def read(cid: str, first: int, last: int) -> list[dict[str, Any]]:
            events.append(("read", first))
            return await at_positions(cid, first, last)

        async def slow_mark(cid: str, ids: Sequence[str], state: str, now: datetime,
                            reason: str | None = None) -> int:
            for _ in range(5):
                await asyncio.sleep(0)  # a database round trip
            events.append(("mark", int(ids[0].rsplit(":", 1)[1])))
            return await mark(cid, ids, state, now, reason)

        async def move(cid: str, owner: str, from_row: int, to_row: int) -> bool:
            events.append(("advance", from_row))
            return await advance(cid, owner, from_row, to_row)

        patched: Any = store
        patched.at_positions, patched.mark, patched.advance = read, slow_mark, move
        await run_to_end(dispatcher)
        assert len({c.command_id for c in published}) == len(published) == 1000
        assert store.campaign["next_row"] == 1001
        assert store.campaign["state"] == "completed"
        advances = [row for kind, row in events if kind == "advance"]
        assert advances == sorted(advances) == [row for kind, row in events if kind == "read"]
        for row in advances:  # each range's marks land before its cursor move
            assert events.index(("mark", row)) < events.index(("advance", row))
        # ...and some step read its range before the previous range's cursor move.
        assert any(events.index(("read", b)) < events.index(("advance", a))
                   for a, b in itertools.pairwise(advances))

    async def test_failed_writes_leave_the_cursor_before_their_range(self) -> None:
        store, published, _, dispatcher = make(
            1000, channel=CHANNEL.model_copy(update={"throughput_mps": 1000}))
        mark = store.mark
        marks = 0

        async def failing_mark(cid: str, ids: Sequence[str], state: str, now: datetime,
                               reason: str | None = None) -> int:
            nonlocal marks
            marks += 1
            if marks == 3:
                raise ConnectionError("database gone")
            return await mark(cid, ids, state, now, reason)

        patched: Any = store
        patched.mark = failing_mark
        await run_to_end(dispatcher)
        third = sorted(store.reads)[2][0]
        # The run ends; the cursor stays at the failed range (re-read by the next claim,
        # its commands dropped by the sender's ledger), never past it.
        assert store.campaign["next_row"] == third
        assert store.recipients[recipient_id("c1", third)]["state"] == "queued"
        assert len(published) > third - 1

    async def test_a_campaign_that_reaches_the_limit_with_its_last_recipient_completes(
            self) -> None:
        store, published, _, dispatcher = make(
            10, channel=CHANNEL.model_copy(update={"messaging_limit": 10}))
        await run_to_end(dispatcher)
        assert len(published) == 10
        assert store.campaign["state"] == "completed"

    async def test_campaign_updates_never_overlap_a_steps_writes(self) -> None:
        # FerretDB v1 applies an update as read, change, write back: a lease renewal racing
        # the counters' $inc on the campaign document would undo it.
        store, published, _, dispatcher = make(
            1000, channel=CHANNEL.model_copy(update={"throughput_mps": 1000,
                                                     "messaging_limit": None}))
        writing = False
        overlaps = 0
        claim, mark, advance = store.claim, store.mark, store.advance

        async def slow_mark(cid: str, ids: Sequence[str], state: str, now: datetime,
                            reason: str | None = None) -> int:
            nonlocal writing
            writing = True
            for _ in range(5):
                await asyncio.sleep(0)
            return await mark(cid, ids, state, now, reason)

        async def move(cid: str, owner: str, from_row: int, to_row: int) -> bool:
            nonlocal writing
            moved = await advance(cid, owner, from_row, to_row)
            writing = False
            return moved

        async def renew(*args: Any) -> dict[str, Any] | None:
            nonlocal overlaps
            overlaps += writing
            return await claim(*args)

        patched: Any = store
        patched.claim, patched.mark, patched.advance = renew, slow_mark, move
        await run_to_end(dispatcher)
        assert len(published) == 1000
        assert store.campaign["state"] == "completed"
        assert overlaps == 0
