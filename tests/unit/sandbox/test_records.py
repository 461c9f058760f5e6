"""The sandbox's record of the webhooks it emitted (statuses, customer messages) and delivery."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sandbox.dispatcher import DispatchOptions, RetryPolicy, WebhookDispatcher
from sandbox.records import EmittedLog, InboundLog
from sandbox.webhooks import status_item
from shared.channels import Channel
from tests.unit.sandbox.fakes import FakeTransport

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NUMBER = "100000000000001"
OTHER = "100000000000002"
CHANNEL = Channel(phone_number_id=NUMBER, display_phone_number="15550001111",
                  waba_id="200000000000001", tenant_id="acme")
FAST = DispatchOptions(batch_max=100, interval=0.001, concurrency=4, max_attempts=3,
                       retry_base=0.001, retry_max=0.01, queue_limit=1000)


def add(log: EmittedLog, n: int, number: str = NUMBER, status: str = "sent") -> int:
    return log.add(f"wamid.{n}", number, "16505551234", status, AT + timedelta(seconds=n))


def item(n: int, status: str = "sent", **extra: Any) -> dict[str, Any]:
    return status_item(f"wamid.{n}", status, 1772366400 + n, "16505551234", **extra)


@asynccontextmanager
async def dispatching(transport: FakeTransport | None,
                      options: DispatchOptions = FAST) -> AsyncIterator[WebhookDispatcher]:
    dispatcher = WebhookDispatcher(transport, options, rng=random.Random(1))
    try:
        yield dispatcher
    finally:
        await dispatcher.stop(grace_seconds=1)


class TestEmittedLog:
    def test_lists_what_was_added_oldest_first_with_no_delivery_yet(self) -> None:
        log = EmittedLog(limit=100)
        assert log.add("wamid.1", NUMBER, "16505551234", "failed", AT, "cmd-1", 131026) == 1
        add(log, 2, OTHER)
        first, second = log.select()
        assert first.model_dump() == {
            "seq": 1, "wamid": "wamid.1", "phone_number_id": NUMBER,
            "recipient_wa_id": "16505551234", "status": "failed", "at": AT,
            "callback_data": "cmd-1", "error_code": 131026, "delivered": False, "attempts": 0,
            "dropped": False, "recipient_user_id": None}
        assert (second.seq, second.phone_number_id) == (2, OTHER)

    def test_keeps_the_bsuid_the_status_carried(self) -> None:
        log = EmittedLog(limit=100)
        log.add("wamid.1", NUMBER, "16505551234", "read", AT,
                recipient_user_id="US.01862452501251589829")
        (status,) = log.select()
        assert status.recipient_user_id == "US.01862452501251589829"

    def test_filters_by_number_wamid_and_seq(self) -> None:
        log = EmittedLog(limit=100)
        for n in range(1, 7):
            add(log, n, NUMBER if n % 2 else OTHER)
        assert [s.seq for s in log.select(NUMBER)] == [1, 3, 5]
        assert [s.seq for s in log.select(after_seq=4)] == [5, 6]
        assert [s.seq for s in log.select(wamid="wamid.4")] == [4]

    def test_each_post_counts_an_attempt_and_a_2xx_marks_it_delivered(self) -> None:
        log = EmittedLog(limit=100)
        seqs = [add(log, n) for n in range(3)]
        log.attempted(seqs[:2], 503)
        log.attempted(seqs[:2], None)  # unreachable
        log.attempted(seqs[:1], 200)
        assert [(s.attempts, s.delivered) for s in log.select()] == [
            (3, True), (2, False), (0, False)]

    def test_dropped_is_kept_with_the_attempts(self) -> None:
        log = EmittedLog(limit=100)
        seq = add(log, 1)
        log.attempted([seq], 500)
        log.dropped([seq])
        (entry,) = log.select()
        assert (entry.attempts, entry.delivered, entry.dropped) == (1, False, True)
        assert log.add("wamid.2", NUMBER, "1", "sent", AT, dropped=True) == 2
        assert next(log.select(after_seq=1)).dropped

    def test_beyond_the_limit_the_oldest_are_forgotten_and_their_updates_ignored(self) -> None:
        log = EmittedLog(limit=3)
        seqs = [add(log, n) for n in range(5)]
        log.attempted(seqs, 200)  # seqs 1 and 2 are gone: ignored
        assert [(s.seq, s.wamid, s.attempts) for s in log.select()] == [
            (3, "wamid.2", 1), (4, "wamid.3", 1), (5, "wamid.4", 1)]
        assert log.total == 5

    def test_clear_forgets_entries_and_late_updates_but_seqs_go_on(self) -> None:
        log = EmittedLog(limit=10)
        old = add(log, 1)
        log.clear()
        assert list(log.select()) == []
        new = add(log, 2)
        log.attempted([old], 200)
        log.dropped([old])
        (entry,) = log.select()
        assert (entry.seq, entry.attempts, entry.dropped) == (new, 0, False)
        assert new == old + 1


class TestInboundLog:
    def test_records_the_last_posts_status_and_delivery(self) -> None:
        log = InboundLog(limit=10)
        seq = log.add("wamid.9", NUMBER, "16505551234", "text", AT)
        (entry,) = log.select()
        assert (entry.webhook_status, entry.attempts, entry.delivered) == (None, 0, False)
        log.attempted([seq], 503)
        log.attempted([seq], 200)
        (entry,) = log.select(NUMBER)
        assert (entry.wamid, entry.type, entry.webhook_status, entry.attempts,
                entry.delivered) == ("wamid.9", "text", 200, 2, True)
        assert list(log.select(OTHER)) == []


class TestDispatcherRecords:
    async def test_a_scheduled_status_is_recorded_at_once_and_updated_when_posted(
            self) -> None:
        transport = FakeTransport()
        async with dispatching(transport) as dispatcher:
            assert dispatcher.schedule(CHANNEL, item(1, "failed", error_code=131026,
                                                     callback_data="cmd-1"), after=0, at=AT)
            (entry,) = dispatcher.statuses.select()
            assert (entry.wamid, entry.status, entry.at, entry.callback_data, entry.error_code,
                    entry.attempts) == ("wamid.1", "failed", AT, "cmd-1", 131026, 0)
            dispatcher.start()
            assert await dispatcher.wait_idle(timeout=10)
        (entry,) = dispatcher.statuses.select()
        assert (entry.attempts, entry.delivered, entry.dropped) == (1, True, False)

    async def test_without_at_the_items_timestamp_is_used(self) -> None:
        async with dispatching(FakeTransport()) as dispatcher:
            dispatcher.schedule(CHANNEL, item(0), after=1000)
            (entry,) = dispatcher.statuses.select()
        assert entry.at == datetime.fromtimestamp(1772366400, UTC)

    async def test_every_status_of_a_batch_is_updated_by_its_post_and_retries(self) -> None:
        transport = FakeTransport(answers=[500, None])  # then 200
        async with dispatching(transport) as dispatcher:
            for n in range(3):
                dispatcher.schedule(CHANNEL, item(n), after=0)
            dispatcher.start()
            assert await dispatcher.wait_idle(timeout=10)
        assert len(transport.bodies) == 3  # one batch, tried three times
        assert [(s.attempts, s.delivered, s.dropped) for s in dispatcher.statuses.select()] == [
            (3, True, False)] * 3

    async def test_given_up_after_max_attempts_is_dropped(self) -> None:
        transport = FakeTransport(answers=[503] * 10)
        async with dispatching(transport) as dispatcher:
            dispatcher.schedule(CHANNEL, item(1), after=0)
            dispatcher.start()
            assert await dispatcher.wait_idle(timeout=10)
        (entry,) = dispatcher.statuses.select()
        assert (entry.attempts, entry.delivered, entry.dropped) == (FAST.max_attempts, False,
                                                                     True)

    async def test_a_status_refused_by_a_full_queue_is_recorded_as_dropped(self) -> None:
        options = DispatchOptions(queue_limit=100)
        async with dispatching(FakeTransport(), options) as dispatcher:
            for n in range(101):
                dispatcher.schedule(CHANNEL, item(n), after=1000)
            *_, last = dispatcher.statuses.select()
        assert (last.seq, last.attempts, last.dropped) == (101, 0, True)
        assert sum(s.dropped for s in dispatcher.statuses.select()) == 1

    async def test_nothing_is_recorded_without_a_webhook_url(self) -> None:
        async with dispatching(None) as dispatcher:
            dispatcher.schedule(CHANNEL, item(1), after=0)
            assert list(dispatcher.statuses.select()) == []

    async def test_a_customer_message_post_is_recorded_through_its_retries(self) -> None:
        transport = FakeTransport(answers=[503, None])  # then 200
        async with dispatching(transport) as dispatcher:
            dispatcher.start()
            seq = dispatcher.inbound.add("wamid.in", NUMBER, "16505551234", "text", AT)
            assert await dispatcher.post_now(b'{"entry":[]}', inbound_seq=seq) == 503
            assert await dispatcher.wait_idle(timeout=10)
        (entry,) = dispatcher.inbound.select()
        assert (entry.webhook_status, entry.attempts, entry.delivered, entry.dropped) == (
            200, 3, True, False)


class TestRetryBudget:
    async def test_with_retry_seconds_attempts_go_beyond_max_attempts(self) -> None:
        # A webhook_ingest that answers 503 while Kafka is down for longer than max_attempts
        # backoffs last: the statuses must still arrive once it answers again.
        transport = FakeTransport(answers=[503] * 12)  # then 200
        options = DispatchOptions(interval=0.001, max_attempts=2, retry_base=0.001,
                                  retry_max=0.005, retry_seconds=60)
        async with dispatching(transport, options) as dispatcher:
            dispatcher.schedule(CHANNEL, item(1), after=0)
            dispatcher.start()
            assert await dispatcher.wait_idle(timeout=30)
        (entry,) = dispatcher.statuses.select()
        assert (entry.attempts, entry.delivered, entry.dropped) == (13, True, False)
        assert dispatcher.dropped == 0

    async def test_once_retry_seconds_have_passed_it_is_dropped(self) -> None:
        transport = FakeTransport(answers=[503] * 100_000)
        options = DispatchOptions(interval=0.001, max_attempts=1_000, retry_base=0.001,
                                  retry_max=0.01, retry_seconds=0.1)
        async with dispatching(transport, options) as dispatcher:
            dispatcher.schedule(CHANNEL, item(1), after=0)
            dispatcher.start()
            assert await dispatcher.wait_idle(timeout=30)
        (entry,) = dispatcher.statuses.select()
        assert entry.dropped
        assert not entry.delivered
        assert entry.attempts >= 2

    async def test_a_new_budget_applies_to_webhooks_already_waiting(self) -> None:
        transport = FakeTransport(answers=[503] * 5)  # then 200
        options = DispatchOptions(interval=0.001, max_attempts=2, retry_base=0.2,
                                  retry_max=0.2)
        async with dispatching(transport, options) as dispatcher:
            dispatcher.schedule(CHANNEL, item(1), after=0)
            dispatcher.start()
            await asyncio.wait_for(transport.posted.wait(), 10)
            # The first retry now waits under the old budget (its attempt 2 would be the last).
            dispatcher.set_retries(RetryPolicy(webhook_max_attempts=2,
                                               webhook_retry_base_seconds=0.001,
                                               webhook_retry_max_seconds=0.005,
                                               webhook_retry_seconds=60))
            assert await dispatcher.wait_idle(timeout=30)
        (entry,) = dispatcher.statuses.select()
        assert (entry.attempts, entry.delivered) == (6, True)

    def test_the_policy_reads_back_the_options(self) -> None:
        dispatcher = WebhookDispatcher(None, FAST)
        assert dispatcher.retries == RetryPolicy(
            webhook_max_attempts=3, webhook_retry_base_seconds=0.001,
            webhook_retry_max_seconds=0.01, webhook_retry_seconds=None)
        dispatcher.set_retries(dispatcher.retries.model_copy(
            update={"webhook_retry_seconds": 600.0}))
        assert dispatcher.options.retry_seconds == 600.0
        assert dispatcher.options.queue_limit == FAST.queue_limit

    @pytest.mark.parametrize("bad", [{"webhook_retry_seconds": -1},
                                     {"webhook_max_attempts": 0},
                                     {"webhook_retry": 1}])
    def test_a_bad_policy_is_refused(self, bad: dict[str, Any]) -> None:
        with pytest.raises(ValueError, match="webhook_"):
            RetryPolicy.model_validate(bad)
