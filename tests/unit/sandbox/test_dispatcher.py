"""Webhook delivery: batched, bounded, retried with backoff, given up on after max attempts."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson

from sandbox.customer import CustomerMessage, inbound_message
from sandbox.dispatcher import DispatchOptions, WebhookDispatcher, backoff_schedule
from sandbox.identity import bsuid_for
from sandbox.webhooks import message_payload, status_item
from shared.channels import Channel
from tests.unit.sandbox.fakes import FakeTransport

CHANNEL = Channel(phone_number_id="100000000000001", display_phone_number="15550001111",
                  waba_id="200000000000001", tenant_id="acme")
FAST = DispatchOptions(batch_max=100, interval=0.001, concurrency=4, max_attempts=3,
                       retry_base=0.001, retry_max=0.01, queue_limit=1000)


def status(n: int) -> dict[str, Any]:
    return status_item(f"wamid.{n}", "sent", 1772366400, "16505551234")


@asynccontextmanager
async def dispatching(transport: Any, options: DispatchOptions = FAST,
                      ) -> AsyncIterator[WebhookDispatcher]:
    dispatcher = WebhookDispatcher(transport, options, rng=random.Random(1))
    try:
        yield dispatcher
    finally:
        await dispatcher.stop(grace_seconds=1)


class TestBatching:
    async def test_due_statuses_share_posts_of_at_most_batch_max(self) -> None:
        transport = FakeTransport()
        async with dispatching(transport) as dispatcher:
            for n in range(250):
                assert dispatcher.schedule(CHANNEL, status(n), after=0)
            dispatcher.start()
            assert await dispatcher.wait_idle(timeout=10)
        assert sorted(len(orjson.loads(b)["entry"][0]["changes"][0]["value"]["statuses"])
                      for b in transport.bodies) == [50, 100, 100]
        assert sorted(s["id"] for s in transport.statuses()) == sorted(
            f"wamid.{n}" for n in range(250))
        assert dispatcher.posted == 3

    async def test_a_status_is_not_posted_before_it_is_due(self) -> None:
        transport = FakeTransport()
        async with dispatching(transport) as dispatcher:
            dispatcher.start()
            dispatcher.schedule(CHANNEL, status(1), after=0)
            dispatcher.schedule(CHANNEL, status(2), after=1000)
            await asyncio.wait_for(transport.posted.wait(), 10)
            assert [s["id"] for s in transport.statuses()] == ["wamid.1"]
            assert dispatcher.pending == 1
            assert not await dispatcher.wait_idle(timeout=0.05)

    async def test_posts_in_flight_never_exceed_the_concurrency(self) -> None:
        class Holding(FakeTransport):
            def __init__(self) -> None:
                super().__init__()
                self.active = 0
                self.most = 0

            async def post(self, body: bytes) -> int:
                self.active += 1
                self.most = max(self.most, self.active)
                await asyncio.sleep(0.01)
                self.active -= 1
                return await super().post(body)

        transport = Holding()
        options = DispatchOptions(batch_max=1, interval=0.001, concurrency=2, queue_limit=1000)
        async with dispatching(transport, options) as dispatcher:
            for n in range(10):
                dispatcher.schedule(CHANNEL, status(n), after=0)
            dispatcher.start()
            assert await dispatcher.wait_idle(timeout=10)
        assert len(transport.bodies) == 10
        assert transport.most == 2


class TestRetries:
    async def test_a_failed_post_is_retried_with_the_same_body_until_accepted(self) -> None:
        transport = FakeTransport(answers=[500, None])  # then 200
        async with dispatching(transport) as dispatcher:
            dispatcher.schedule(CHANNEL, status(1), after=0)
            dispatcher.start()
            assert await dispatcher.wait_idle(timeout=10)
        assert len(transport.bodies) == 3
        assert len(set(transport.bodies)) == 1
        assert (dispatcher.posted, dispatcher.failed_posts, dispatcher.dropped) == (1, 2, 0)

    async def test_gives_up_after_max_attempts(self) -> None:
        transport = FakeTransport(answers=[503] * 10)
        async with dispatching(transport) as dispatcher:
            dispatcher.schedule(CHANNEL, status(1), after=0)
            dispatcher.start()
            assert await dispatcher.wait_idle(timeout=10)
        assert len(transport.bodies) == FAST.max_attempts
        assert (dispatcher.posted, dispatcher.dropped) == (0, 1)

    async def test_a_customer_message_is_posted_at_once_and_retried_if_refused(self) -> None:
        transport = FakeTransport(answers=[503])  # then 200
        async with dispatching(transport) as dispatcher:
            dispatcher.start()
            assert await dispatcher.post_now(b'{"entry":[]}') == 503
            assert await dispatcher.wait_idle(timeout=10)
        assert transport.bodies == [b'{"entry":[]}'] * 2
        assert dispatcher.posted == 1

    async def test_an_unreachable_url_reports_no_status(self) -> None:
        transport = FakeTransport(answers=[None])
        async with dispatching(transport) as dispatcher:
            assert await dispatcher.post_now(b"{}") is None

    def test_backoff_doubles_up_to_its_cap(self) -> None:
        options = DispatchOptions(max_attempts=6, retry_base=0.5, retry_max=4.0)
        assert backoff_schedule(options) == [0.5, 1.0, 2.0, 4.0, 4.0]


class TestBounds:
    async def test_beyond_the_queue_limit_new_statuses_are_dropped(self) -> None:
        options = DispatchOptions(queue_limit=100)
        async with dispatching(FakeTransport(), options) as dispatcher:
            kept = [dispatcher.schedule(CHANNEL, status(n), after=0) for n in range(150)]
        assert kept == [True] * 100 + [False] * 50
        assert dispatcher.dropped == 50

    async def test_without_a_webhook_url_nothing_is_scheduled(self) -> None:
        async with dispatching(None) as dispatcher:
            assert not dispatcher.enabled
            assert dispatcher.schedule(CHANNEL, status(1), after=0) is False
            assert await dispatcher.post_now(b"{}") is None
            assert dispatcher.pending == 0


class TestCustomers:
    async def test_a_status_gets_its_bsuid_when_scheduled_but_a_failed_one(self) -> None:
        async with dispatching(FakeTransport()) as dispatcher:
            sent = status(1)
            failed = status_item("wamid.2", "failed", 1772366400, "16505551234",
                                 error_code=131026)
            dispatcher.schedule(CHANNEL, sent, after=0)
            dispatcher.schedule(CHANNEL, failed, after=0)
        user_id = bsuid_for(CHANNEL.waba_id, "16505551234")
        assert sent["recipient_user_id"] == user_id
        assert "recipient_user_id" not in failed
        assert [s.recipient_user_id for s in dispatcher.statuses.select()] == [user_id, None]

    async def test_statuses_show_the_profile_the_customers_message_showed(self) -> None:
        transport = FakeTransport()
        channel = CHANNEL.model_copy(update={"display_phone_number": "15550001111"})
        request = CustomerMessage.model_validate({
            "phone_number_id": channel.phone_number_id, "from": "16505551234",
            "name": "Sheena"})
        inbound = message_payload(channel, inbound_message(request, "wamid.IN", 1772366400),
                                  request.name, username="@sheena")
        async with dispatching(transport) as dispatcher:
            dispatcher.start()
            assert await dispatcher.post_now(orjson.dumps(inbound)) == 200
            dispatcher.schedule(channel, status_item("wamid.1", "read", 1772366401,
                                                     "16505551234"), after=0)
            assert await dispatcher.wait_idle(timeout=10)
        contacts = transport.payloads()[-1]["entry"][0]["changes"][0]["value"]["contacts"]
        assert contacts == [{"profile": {"name": "Sheena", "username": "@sheena"},
                             "wa_id": "16505551234",
                             "user_id": bsuid_for(CHANNEL.waba_id, "16505551234")}]
        assert dispatcher.customers.by_user_id(
            CHANNEL.waba_id, contacts[0]["user_id"]) is not None
