"""Meta's account notices and a customer's marketing preference on the real stack (Kafka, the
database, the four services and the sandbox as Meta; issue 15 items 4 and 5).

The notices are published on ``whatsapp.inbound.v1`` as webhook_ingest publishes them (the real
store folds them). Sends go through the inbox's API (its pre-check) and, for the sender's own
refusal, straight onto ``inbox.commands.v1`` as another service may publish them.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from shared.account_health import ACCOUNT_HEALTH_COLLECTION
from shared.campaigns import OPT_OUTS_COLLECTION
from shared.config import InfraSettings
from shared.events import (
    AccountNotice,
    AccountNoticeReceived,
    MarketingPreference,
    MarketingPreferenceChanged,
    SendTemplate,
)
from shared.events.base import Event
from shared.events.topics import INBOX_COMMANDS, WHATSAPP_INBOUND
from shared.kafka import publish
from shared.marketing import OPTED_OUT
from shared.phone import conversation_id
from tests.integration.inbox_api.stack import CUSTOMER, RunningInbox
from tests.integration.inbox_api.test_api import eventually, thread
from tests.integration.inbox_api.test_browser import CHROMIUM, browser_page, snap
from tests.integration.inbox_api.test_browser_pages import sign_in

pytestmark = pytest.mark.integration

NEW_CUSTOMER = "16505550188"
# Long enough for any send the sender could still be making (its first backoff is far shorter).
SETTLE_SECONDS = 2.0


async def stored(inbox: RunningInbox, collection: str, query: dict[str, Any]
                 ) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        return await inbox.db[collection].find_one(query)
    return await eventually(probe)


async def publish_inbound(settings: InfraSettings, producer: Any, *events: Event) -> None:
    await publish(producer, settings.topic(WHATSAPP_INBOUND), list(events))


def template_command(inbox: RunningInbox, cid: str, customer: str, name: str,
                     command_id: str, text: str) -> SendTemplate:
    return SendTemplate(
        occurred_at=datetime.now(UTC), tenant_id=inbox.channel.tenant_id, conversation_id=cid,
        command_id=command_id, actor_id="crm",
        business_phone_number_id=inbox.channel.phone_number_id,
        customer_wa_id=customer, template_name=name, language="en_US",
        components=[{"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}]
        if name == "spring_sale" else [], rendered_text=text, reference=command_id)


async def refused_in_store(inbox: RunningInbox, cid: str, reason: str) -> dict[str, Any]:
    return await stored(inbox, "messages", {"conversation_id": cid, "status": "refused",
                                            "error.reason": reason})


async def test_a_restricted_account_shows_the_banner_and_refuses_before_meta(
        inbox: RunningInbox, settings: InfraSettings, producer: Any) -> None:
    number = inbox.channel.phone_number_id
    await inbox.customer_says("Hi, is my order on its way?")
    cid = inbox.conversation_id()
    expires = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    restriction = AccountNoticeReceived(
        occurred_at=datetime.now(UTC), tenant_id=inbox.channel.tenant_id,
        payload=AccountNotice(
            waba_id=inbox.channel.waba_id, field="account_update", event="ACCOUNT_RESTRICTION",
            restrictions=[{"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING",
                           "expiration": expires.strftime("%Y-%m-%dT%H:%M:%S+0000")}],
            at=datetime.now(UTC).replace(microsecond=0)))
    await publish_inbound(settings, producer, restriction)
    await stored(inbox, ACCOUNT_HEALTH_COLLECTION, {"tenant_id": inbox.channel.tenant_id})

    async with inbox.client() as http:
        # Every agent of the tenant sees it; the other tenant does not.
        [banner] = (await http.get("/api/v1/account/notices")).json()["items"]
        assert (banner["level"], banner["blocks"]) == ("critical", "business_initiated")
        assert "cannot start conversations with templates" in banner["text"]
        assert "RESTRICTED_BIZ_INITIATED_MESSAGING" in banner["text"]
        async with inbox.client(inbox.other_key) as other:
            assert (await other.get("/api/v1/account/notices")).json() == {"items": []}

        # A template that would start a conversation: refused by the inbox at once.
        opened = await http.post("/api/v1/conversations", json={
            "business_phone_number_id": number, "customer_wa_id": NEW_CUSTOMER,
            "template_name": "hello_world"})
        assert opened.status_code == 409, opened.text
        refusal = opened.json()
        assert (refusal["error"], refusal["reason"]) == ("account_restricted",
                                                         "account_restricted")
        assert refusal["hint"]

        # Published by another service, it is refused by the sender, before any call.
        new_cid = conversation_id(number, NEW_CUSTOMER)
        await publish(producer, settings.topic(INBOX_COMMANDS), [template_command(
            inbox, new_cid, NEW_CUSTOMER, "hello_world", "crm-restricted-1", "Hello!")])
        refused = await refused_in_store(inbox, new_cid, "account_restricted")
        assert "RESTRICTED_BIZ_INITIATED_MESSAGING" in refused["error"]["message"]
        assert await inbox.sandbox.received(number) == []

        # A reply inside the customer's window is not business-initiated: it goes.
        sent = await http.post(f"/api/v1/conversations/{cid}/messages",
                               json={"kind": "text", "text": "Yes, it ships today!"})
        assert sent.status_code == 202, sent.text

        async def accepted() -> dict[str, Any] | None:
            outbound = [m for m in await thread(http, cid) if m["direction"] == "outbound"
                        and m["status"] not in ("accepted", "unknown")]
            return outbound[0] if outbound else None

        reply = await eventually(accepted)
        assert reply["text"] == "Yes, it ships today!"
        await asyncio.sleep(SETTLE_SECONDS)
        [request] = await inbox.sandbox.received(number)
        assert request.wamid == reply["wamid"]


def preference(inbox: RunningInbox, value: str, at: datetime) -> MarketingPreferenceChanged:
    return MarketingPreferenceChanged(
        occurred_at=at, tenant_id=inbox.channel.tenant_id,
        conversation_id=inbox.conversation_id(),
        payload=MarketingPreference(business_phone_number_id=inbox.channel.phone_number_id,
                                    wa_id=CUSTOMER, category="marketing_messages", value=value,
                                    at=at))


async def conversation(http: httpx.AsyncClient, cid: str) -> dict[str, Any]:
    response = await http.get(f"/api/v1/conversations/{cid}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_marketing_stop_blocks_marketing_templates_until_resume(
        inbox: RunningInbox, settings: InfraSettings, producer: Any) -> None:
    number = inbox.channel.phone_number_id
    await inbox.customer_says("Hi there")
    cid = inbox.conversation_id()
    stop_at = datetime.now(UTC).replace(microsecond=0)
    await publish_inbound(settings, producer, preference(inbox, "stop", stop_at))
    await stored(inbox, OPT_OUTS_COLLECTION, {"customer_wa_id": CUSTOMER, "opted_out": True})
    spring_sale = {"kind": "template", "template_name": "spring_sale",
                   "variables": {"1": "Ana"}}

    async with inbox.client() as http:
        shown = await conversation(http, cid)
        assert shown["marketing_opt_out"]["source"] == "meta_preference"
        [item] = (await http.get("/api/v1/conversations")).json()["items"]
        assert item["marketing_opt_out"]["source"] == "meta_preference"

        # A marketing template: refused with the sender's reason, nothing published.
        refused = await http.post(f"/api/v1/conversations/{cid}/messages", json=spring_sale)
        assert refused.status_code == 409, refused.text
        body = refused.json()
        assert (body["reason"], body["detail"], body["hint"]) == (
            "opted_out", OPTED_OUT.message, OPTED_OUT.hint)
        # The sender refuses it too when another service publishes it.
        await publish(producer, settings.topic(INBOX_COMMANDS), [template_command(
            inbox, cid, CUSTOMER, "spring_sale", "crm-marketing-1", "Hi Ana, our sale")])
        await refused_in_store(inbox, cid, "opted_out")
        assert await inbox.sandbox.received(number) == []

        # Utility templates and replies still go.
        utility = await http.post(f"/api/v1/conversations/{cid}/messages", json={
            "kind": "template", "template_name": "hello_world"})
        assert utility.status_code == 202, utility.text

        # The customer resumes marketing messages in WhatsApp: the marker goes, the sale goes.
        await publish_inbound(settings, producer,
                              preference(inbox, "resume", stop_at + timedelta(seconds=5)))
        await stored(inbox, OPT_OUTS_COLLECTION, {"customer_wa_id": CUSTOMER,
                                                  "opted_out": False})
        assert (await conversation(http, cid))["marketing_opt_out"] is None
        allowed = await http.post(f"/api/v1/conversations/{cid}/messages", json=spring_sale)
        assert allowed.status_code == 202, allowed.text

        async def both_sent() -> list[Any] | None:
            accepted = await inbox.sandbox.accepted(number)
            return accepted if len(accepted) >= 2 else None

        sent = await eventually(both_sent)
        names = sorted(str(r.body.get("template", {}).get("name")) for r in sent)
        assert names == ["hello_world", "spring_sale"]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed")
@pytest.mark.timeout(300)
async def test_the_browser_shows_the_banner_and_the_opted_out_badge(
        inbox: RunningInbox, settings: InfraSettings, producer: Any) -> None:
    await inbox.customer_says("Hi, any offers?", name="Olga Optout")
    now = datetime.now(UTC).replace(microsecond=0)
    flagged = AccountNoticeReceived(
        occurred_at=now, tenant_id=inbox.channel.tenant_id,
        payload=AccountNotice(
            waba_id=inbox.channel.waba_id, field="account_update", event="ACCOUNT_RESTRICTION",
            restrictions=[{"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING",
                           "expiration": (now + timedelta(days=2)).isoformat()}], at=now))
    await publish_inbound(settings, producer, flagged, preference(inbox, "stop", now))
    await stored(inbox, OPT_OUTS_COLLECTION, {"customer_wa_id": CUSTOMER, "opted_out": True})
    await stored(inbox, ACCOUNT_HEALTH_COLLECTION, {"tenant_id": inbox.channel.tenant_id})
    async with browser_page() as page:
        await sign_in(page, inbox)
        notice = page.get_by_test_id("account-notice")
        await expect(notice).to_have_attribute("data-level", "critical")
        await expect(notice).to_contain_text("Business-initiated messaging restricted")
        item = page.get_by_test_id("conversation-item").filter(has_text="Olga Optout")
        await expect(item.get_by_test_id("opted-out-badge")).to_have_text(
            "Opted out of marketing")
        await item.click()
        await expect(page.locator(".thread-head").get_by_test_id("opted-out-badge")).to_be_visible()
        # The banner sits above the inbox; the inbox still fills the rest of the window.
        banner = await page.get_by_test_id("account-notices").bounding_box()
        app = await page.locator("#app").bounding_box()
        assert banner is not None
        assert app is not None
        assert banner["y"] == 0
        assert app["y"] >= banner["height"] - 1
        assert app["y"] + app["height"] <= 800 + 1
        await snap(page, "40-account-notice-and-opt-out")
