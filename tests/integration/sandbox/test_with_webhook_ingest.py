"""The sandbox's webhooks through the real webhook_ingest onto the real whatsapp.inbound.v1."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from devstack.process import free_port
from sandbox.catalog import TemplateSpec
from sandbox.testing import SandboxClient, running_sandbox
from shared.channels import Channel
from shared.config import InfraSettings
from shared.events import INBOUND_EVENTS
from shared.events.inbound import MessageReceived, MessageStatusChanged
from shared.events.topics import WHATSAPP_INBOUND
from tests.integration.kafka_tools import read_topic
from tests.integration.sandbox.conftest import (
    APP_SECRET,
    AUTH,
    FAST,
    webhook_ingest,
)

pytestmark = pytest.mark.integration

CUSTOMER = "16505551234"
TEMPLATES = [TemplateSpec(name="order_update", body_text="Hi {{1}}, order {{2}} shipped")]


async def inbound_events(settings: InfraSettings, count: int) -> list[Any]:
    records = await read_topic(settings, WHATSAPP_INBOUND, min_records=count)
    return [INBOUND_EVENTS.validate_json(r.value) for r in records]


async def send(sandbox: SandboxClient, channel: Channel, body: dict[str, Any]) -> str:
    async with httpx.AsyncClient() as http:
        response = await http.post(sandbox.messages_url(channel.phone_number_id), headers=AUTH,
                                   json={"messaging_product": "whatsapp", "to": f"+{CUSTOMER}",
                                         **body})
    assert response.status_code == 200, response.text
    wamid: str = response.json()["messages"][0]["id"]
    return wamid


def template() -> dict[str, Any]:
    return {"type": "template", "template": {
        "name": "order_update", "language": {"code": "en_US"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Jo"},
                                                       {"type": "text", "text": "A-42"}]}]}}


class TestThroughWebhookIngest:
    async def test_customer_messages_and_statuses_become_inbound_events(
        self, settings: InfraSettings, channel: Channel
    ) -> None:
        number = channel.phone_number_id
        async with webhook_ingest(settings) as url, running_sandbox(
                channels=[channel], templates=TEMPLATES, webhook_url=url,
                app_secret=APP_SECRET, **FAST) as sandbox:
            said = await sandbox.customer_says(number, CUSTOMER, "Where is my order?",
                                               name="Sheena")
            assert said.webhook_status == 200
            photo = await sandbox.customer_sends(number, CUSTOMER, "image",
                                                 {"caption": "the box"})
            place = await sandbox.customer_sends(number, CUSTOMER, "location",
                                                 {"latitude": 1.5, "longitude": 2.5})
            tapped = await sandbox.customer_sends(
                number, CUSTOMER, "interactive",
                {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes"}})

            reply = await send(sandbox, channel, {"type": "text",
                                                  "text": {"body": "On its way!"}})
            liked = await sandbox.customer_sends(number, CUSTOMER, "reaction",
                                                 {"message_id": reply, "emoji": "👍"})
            await sandbox.inject_fault(number, "status_failed", code=131026)
            undeliverable = await send(sandbox, channel, template())
            await sandbox.wait_webhooks_idle(timeout=15)
            assert (await sandbox.stats())["webhooks"]["dropped"] == 0

        events = await inbound_events(settings, count=9)
        messages = {e.payload.wamid: e for e in events if isinstance(e, MessageReceived)}
        assert {w: e.payload.message_type for w, e in messages.items()} == {
            said.wamid: "text", photo.wamid: "image", place.wamid: "location",
            tapped.wamid: "interactive", liked.wamid: "reaction"}
        text = messages[said.wamid]
        assert text.payload.content == {"body": "Where is my order?"}
        assert text.payload.customer is not None
        assert text.payload.customer.name == "Sheena"
        assert messages[liked.wamid].payload.content == {"message_id": reply, "emoji": "👍"}

        statuses = [e for e in events if isinstance(e, MessageStatusChanged)]
        assert sorted((e.payload.wamid, e.payload.status) for e in statuses) == sorted([
            (reply, "sent"), (reply, "delivered"), (reply, "read"),
            (undeliverable, "failed")])
        (failed,) = (e for e in statuses if e.payload.status == "failed")
        assert [err.code for err in failed.payload.errors] == [131026]

        assert len(events) == 9  # nothing unhandled, nothing extra
        for event in events:
            assert event.tenant_id == "acme"
            assert event.conversation_id == f"{number}:{CUSTOMER}"

    async def test_duplicated_and_shuffled_statuses_carry_the_same_event_ids(
        self, settings: InfraSettings, channel: Channel
    ) -> None:
        async with webhook_ingest(settings) as url, running_sandbox(
                channels=[channel], templates=TEMPLATES, webhook_url=url,
                app_secret=APP_SECRET, **FAST) as sandbox:
            await sandbox.configure(duplicate_probability=1.0, out_of_order_probability=1.0)
            wamid = await send(sandbox, channel, template())
            await sandbox.wait_webhooks_idle(timeout=15)

        events = await inbound_events(settings, count=6)
        assert len(events) == 6
        assert sorted(e.payload.status for e in events) == sorted(
            ["sent", "delivered", "read"] * 2)
        assert {e.payload.wamid for e in events} == {wamid}
        # webhook_ingest derives the event id from (wamid, status): duplicates are harmless.
        assert len({e.event_id for e in events}) == 3

    async def test_webhooks_are_retried_until_webhook_ingest_is_up(
        self, settings: InfraSettings, channel: Channel
    ) -> None:
        port = free_port()
        url = f"http://127.0.0.1:{port}/webhook"
        async with running_sandbox(channels=[channel], templates=TEMPLATES, webhook_url=url,
                                   app_secret=APP_SECRET, **FAST) as sandbox:
            said = await sandbox.customer_says(channel.phone_number_id, CUSTOMER, "anyone?")
            assert said.webhook_status is None  # nothing listens yet
            wamid = await send(sandbox, channel, {"type": "text", "text": {"body": "yes"}})
            async with webhook_ingest(settings, port=port):
                await sandbox.wait_webhooks_idle(timeout=20)
            stats = await sandbox.stats()
        assert stats["webhooks"]["failed_posts"] >= 1
        assert stats["webhooks"]["dropped"] == 0

        events = await inbound_events(settings, count=4)
        assert sorted((type(e).__name__, e.payload.wamid) for e in events) == sorted([
            ("MessageReceived", said.wamid), ("MessageStatusChanged", wamid),
            ("MessageStatusChanged", wamid), ("MessageStatusChanged", wamid)])
