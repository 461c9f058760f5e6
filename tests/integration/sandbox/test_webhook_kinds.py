"""Meta's webhook kinds beyond messages and statuses, from the sandbox's control API to a real
receiver over loopback: each control posts its webhook signed with the app secret (as Meta
signs), an account restriction makes the Cloud API endpoint refuse what Meta refuses, and
webhook_ingest accepts every kind (its signature check passes; nothing is refused)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI, Request, Response

from sandbox.catalog import TemplateSpec
from sandbox.testing import SandboxClient, running_sandbox
from services.webhook_ingest.signature import Verifier
from shared.channels import Channel
from shared.config import InfraSettings
from shared.events import (
    INBOUND_EVENTS,
    AccountNoticeReceived,
    AppContactSynced,
    CallUpdated,
    MarketingPreferenceChanged,
    MessageEchoed,
    MessageReceived,
    TemplateComponentsChanged,
    WebhookChangeUnhandled,
)
from shared.events.topics import WHATSAPP_INBOUND
from tests.integration.kafka_tools import read_topic
from tests.integration.sandbox.conftest import (
    APP_SECRET,
    AUTH,
    CHANNEL,
    FAST,
    webhook_ingest,
)
from tests.integration.serving import served

pytestmark = pytest.mark.integration

CUSTOMER = "16505551234"
OTHER_CUSTOMER = "16505559876"
TEMPLATES = [TemplateSpec(name="order_update", body_text="Hi {{1}}, order {{2}} shipped"),
             TemplateSpec(name="spring_sale", category="MARKETING", body_text="Sale, {{1}}!")]


@dataclass
class Receiver:
    """A webhook endpoint that keeps every POST (raw body and signature) and answers 200."""

    posts: list[tuple[bytes, str | None]] = field(default_factory=list)

    def app(self) -> FastAPI:
        api = FastAPI()

        @api.post("/webhook")
        async def receive(request: Request) -> Response:
            self.posts.append((await request.body(),
                               request.headers.get("x-hub-signature-256")))
            return Response(status_code=200)

        return api

    def fields(self) -> list[str]:
        return [change["field"] for body, _ in self.posts
                for entry in orjson.loads(body)["entry"] for change in entry["changes"]]


@asynccontextmanager
async def sandbox_posting_to_receiver() -> AsyncIterator[tuple[SandboxClient, Receiver]]:
    receiver = Receiver()
    async with served(receiver.app()) as port, running_sandbox(
            channels=[CHANNEL], templates=TEMPLATES, app_secret=APP_SECRET,
            webhook_url=f"http://127.0.0.1:{port}/webhook", **FAST) as sandbox:
        yield sandbox, receiver


async def send_template(sandbox: SandboxClient, name: str = "order_update",
                        to: str = CUSTOMER) -> httpx.Response:
    params = [{"type": "text", "text": v} for v in ("Jo", "A-42")][:2 if name == "order_update"
                                                                      else 1]
    async with httpx.AsyncClient() as http:
        return await http.post(sandbox.messages_url(CHANNEL.phone_number_id), headers=AUTH,
                               json={"messaging_product": "whatsapp", "to": to,
                                     "type": "template", "template": {
                                         "name": name, "language": {"code": "en_US"},
                                         "components": [{"type": "body",
                                                         "parameters": params}]}})


async def every_kind(sandbox: SandboxClient) -> list[str]:
    """Drive every control once; the webhook fields they must have posted, in order."""
    number, waba = CHANNEL.phone_number_id, CHANNEL.waba_id
    said = await sandbox.customer_says(number, CUSTOMER, "Where is my ordr?", name="Sheena")
    await sandbox.customer_edits(number, CUSTOMER, said.wamid, "Where is my order?")
    await sandbox.customer_deletes(number, CUSTOMER, said.wamid)
    await sandbox.stop_marketing(number, CUSTOMER)
    await sandbox.customer_calls(number, CUSTOMER, duration=timedelta(minutes=2))
    echo = await sandbox.app_sends(number, CUSTOMER, "It ships tomorrow")
    await sandbox.app_edits(number, CUSTOMER, echo.id or "", "It ships today")
    await sandbox.app_deletes(number, CUSTOMER, echo.id or "")
    await sandbox.history_sync(number, CUSTOMER, [
        {"from": "customer", "content": "Do you deliver?", "sent_seconds_ago": 3 * 86400},
        {"from": "business", "content": "Yes", "sent_seconds_ago": 3 * 86400 - 60}])
    await sandbox.app_contacts_sync(number, [{"phone_number": CUSTOMER,
                                              "full_name": "Sheena Nelson"}])
    await sandbox.restrict_account(waba)
    await sandbox.account_alert(waba, "OBA_APPROVED", severity="INFORMATIONAL")
    await sandbox.capability_update(waba, max_daily_conversations_per_business=10000)
    await sandbox.change_template_components(waba, "order_update",
                                             "Hi {{1}}, order {{2}} is on its way")
    await sandbox.lift_restrictions(waba)
    return ["messages", "messages", "messages", "user_preferences", "calls", "calls",
            "smb_message_echoes", "smb_message_echoes", "smb_message_echoes", "history",
            "smb_app_state_sync", "account_update", "account_alerts",
            "business_capability_update", "message_template_components_update"]


class TestSignedWebhooks:
    async def test_every_control_posts_its_webhook_signed_with_the_app_secret(self) -> None:
        async with sandbox_posting_to_receiver() as (sandbox, receiver):
            expected = await every_kind(sandbox)
            await sandbox.wait_webhooks_idle(timeout=15)
            stats = await sandbox.stats()
        assert receiver.fields() == expected
        verify = Verifier([APP_SECRET.encode()])
        assert all(verify(body, signature) for body, signature in receiver.posts)
        assert stats["webhooks"]["dropped"] == 0


class TestRestrictionOnTheSendEndpoint:
    async def test_a_restricted_account_is_refused_with_368_until_lifted(self) -> None:
        async with sandbox_posting_to_receiver() as (sandbox, receiver):
            update = await sandbox.restrict_account(CHANNEL.waba_id,
                                                    expires_in=timedelta(hours=2))
            assert update.webhook_status == 200
            refused = await send_template(sandbox)
            assert refused.status_code == 403
            error = refused.json()["error"]
            assert (error["code"], error["type"]) == (368, "OAuthException")
            assert error["message"] == "(#368) Temporarily blocked for policies violations"

            await sandbox.customer_says(CHANNEL.phone_number_id, OTHER_CUSTOMER, "hi")
            assert (await send_template(sandbox, to=OTHER_CUSTOMER)).status_code == 200

            await sandbox.lift_restrictions(CHANNEL.waba_id)
            assert (await send_template(sandbox)).status_code == 200

            await sandbox.restrict_account(CHANNEL.waba_id, expires_in=60)
            assert (await send_template(sandbox)).status_code == 403
            await sandbox.advance_clock(timedelta(seconds=60))  # it expires, as Meta's does
            assert (await send_template(sandbox)).status_code == 200
        assert receiver.fields().count("account_update") == 2

    async def test_a_customer_who_stopped_marketing_gets_no_marketing_template(self) -> None:
        async with sandbox_posting_to_receiver() as (sandbox, _):
            number = CHANNEL.phone_number_id
            await sandbox.stop_marketing(number, CUSTOMER)
            sale = await send_template(sandbox, "spring_sale")
            assert sale.status_code == 200  # accepted; Meta tells the refusal by webhook
            wamid = sale.json()["messages"][0]["id"]
            await sandbox.wait_webhooks_idle(timeout=15)
            [failed] = await sandbox.statuses(number, wamid=wamid)
            assert (failed.status, failed.error_code) == ("failed", 131050)


class TestThroughWebhookIngest:
    async def test_webhook_ingest_accepts_every_kind_and_sees_a_late_message_as_late(
        self, settings: InfraSettings, channel: Channel
    ) -> None:
        async with webhook_ingest(settings) as url, running_sandbox(
                channels=[channel], templates=TEMPLATES, webhook_url=url,
                app_secret=APP_SECRET, **FAST) as sandbox:
            await every_kind(sandbox)
            late = await sandbox.customer_says(channel.phone_number_id, OTHER_CUSTOMER,
                                               "Anyone there?", sent_ago=timedelta(hours=25))
            await sandbox.wait_webhooks_idle(timeout=15)
            stats = await sandbox.stats()
        assert stats["webhooks"]["failed_posts"] == 0  # every POST answered 2xx
        assert stats["webhooks"]["dropped"] == 0
        assert late.timestamp <= datetime.now(UTC) - timedelta(hours=25) + timedelta(seconds=5)

        records = await read_topic(settings, WHATSAPP_INBOUND, min_records=18)
        events: list[Any] = [INBOUND_EVENTS.validate_json(r.value) for r in records]
        [received] = [e for e in events if isinstance(e, MessageReceived)
                      and e.payload.wamid == late.wamid]
        assert received.payload.sent_at == late.timestamp  # the inbox sees it 25 h old
        # Every kind became its typed event; none was kept as an unhandled change.
        kinds = {type(e) for e in events}
        assert {MarketingPreferenceChanged, CallUpdated, MessageEchoed, AppContactSynced,
                AccountNoticeReceived, TemplateComponentsChanged} <= kinds
        assert WebhookChangeUnhandled not in kinds
