"""Every message kind shows with its content (issue 15, items 6 and 9), in a real browser
(Debian's Chromium): an ad's referral card, a forwarded label, an order with its items and total,
a contact card whose "Start conversation" opens the new-conversation form with the number, a
flow's answers (never its flow token), a call-permission reply, a location with a map link,
Meta's error on an unsupported message, and a campaign's message by the campaign's name (not its
id) with its status history in order. On a phone-width screen the template composer stays
inside the screen.

The customer's events are published to ``whatsapp.inbound.v1`` and the campaign's send to
``inbox.outbound.v1`` as webhook_ingest and outbound_sender would publish them (the real store
folds them, the real inbox_api serves them); screenshots land in artifacts/browser/.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import Page, expect

from shared.config import InfraSettings
from shared.events import CustomerProfile, InboundMessage, MessageReceived
from shared.events.inbound import MessageStatusChanged, MetaError, ReplyContext, StatusUpdate
from shared.events.outbound import MessageAccepted, OutboundContent
from shared.events.topics import INBOX_OUTBOUND, WHATSAPP_INBOUND
from shared.kafka import publish
from tests.integration.inbox_api.stack import RunningInbox
from tests.integration.inbox_api.test_browser import CHROMIUM, browser_page, snap
from tests.integration.inbox_api.test_browser_pages import sign_in

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="Debian's Chromium is not installed at /usr/bin/chromium "
                              "(apt-get install chromium)"),
    pytest.mark.timeout(300),
]

WA_ID = "34612000111"
NAME = "Rosa Rivera"
FLOW_TOKEN = "flow-token-secret-1234"


def received(inbox: RunningInbox, n: int, at: datetime, message_type: str,
             content: dict[str, Any], preview: str, **fields: Any) -> MessageReceived:
    return MessageReceived(
        occurred_at=at + timedelta(seconds=1), tenant_id=inbox.channel.tenant_id,
        conversation_id=inbox.conversation_id(WA_ID),
        payload=InboundMessage(
            wamid=f"wamid.kinds.{n}", message_type=message_type, sent_at=at,
            business_phone_number_id=inbox.channel.phone_number_id, from_wa_id=WA_ID,
            customer=CustomerProfile(wa_id=WA_ID, name=NAME), content=content,
            preview=preview, **fields))


def customer_messages(inbox: RunningInbox, start: datetime) -> list[MessageReceived]:
    kinds: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = [
        ("text", {"body": "Hi! I saw your ad, are these in size 42?"}, "Hi! I saw your ad",
         {"referral": {"source_url": "https://fb.me/ad-120", "source_id": "120",
                       "source_type": "ad", "headline": "Blue running shoes",
                       "body": "20% off this week only", "media_type": "image",
                       "image_url": f"{inbox.base_url}/favicon.svg",
                       "thumbnail_url": f"{inbox.base_url}/favicon.svg",
                       "ctwa_clid": "clid-1"}}),
        ("text", {"body": "Look at this deal"}, "Look at this deal",
         {"context": ReplyContext(forwarded=True)}),
        ("text", {"body": "Everyone is sharing this"}, "Everyone is sharing this",
         {"context": ReplyContext(frequently_forwarded=True)}),
        ("order", {"catalog_id": "cat-1", "text": "Please gift-wrap",
                   "product_items": [
                       {"product_retailer_id": "SKU-BLUE-42", "quantity": 2,
                        "item_price": 49.5, "currency": "EUR"},
                       {"product_retailer_id": "SKU-SOCKS", "quantity": 1, "item_price": 5,
                        "currency": "EUR"}]},
         "🛒 Order (2 items): Please gift-wrap", {}),
        ("contacts", {"contacts": [{
            "name": {"formatted_name": "Marta López", "first_name": "Marta"},
            "org": {"company": "Shoe Club"},
            "phones": [{"phone": "+34 699 111 222", "wa_id": "34699111222", "type": "CELL"}],
            "emails": [{"email": "marta@example.com", "type": "WORK"}]}]},
         "👤 Marta López", {}),
        ("interactive", {"type": "nfm_reply", "nfm_reply": {
            "name": "flow", "body": "Sent",
            "response_json": json.dumps({"flow_token": FLOW_TOKEN,
                                         "screen_0_Preferred_date_0": "2026-03-02",
                                         "screen_0_Shoe_size_1": "0_Size_42",
                                         "screen_1_Newsletter_0": True})}},
         "Form response", {}),
        ("interactive", {"type": "call_permission_reply", "call_permission_reply": {
            "response": "accept", "is_permanent": False,
            "expiration_timestamp": int((start + timedelta(days=7)).timestamp()),
            "response_source": "user_action"}}, "[interactive call_permission_reply]", {}),
        ("interactive", {"type": "button_reply",
                         "button_reply": {"id": "ship", "title": "Yes, ship it"}},
         "Yes, ship it", {}),
        ("location", {"latitude": 40.4168, "longitude": -3.7038, "name": "Puerta del Sol",
                      "address": "Plaza de la Puerta del Sol, Madrid"},
         "📍 Puerta del Sol", {}),
        ("unsupported", {"type": "poll"}, "Unsupported message (poll)",
         {"errors": [MetaError(code=131051, title="Message type unknown",
                               message="Message type unknown",
                               details="Message type is currently not supported.")]}),
    ]
    return [received(inbox, n, start + timedelta(seconds=n), kind, content, preview, **fields)
            for n, (kind, content, preview, fields) in enumerate(kinds)]


def campaign_send(inbox: RunningInbox, at: datetime) -> list[Any]:
    """A campaign's template, accepted; Meta's "sent" carries an earlier (WhatsApp) time."""
    cid = inbox.conversation_id(WA_ID)
    accepted = MessageAccepted(
        occurred_at=at, tenant_id=inbox.channel.tenant_id, conversation_id=cid,
        command_id="cmd-kinds-campaign", business_phone_number_id=inbox.channel.phone_number_id,
        customer_wa_id=WA_ID, actor_id="campaign:cmp-kinds", campaign_id="cmp-kinds",
        reference="campaign:cmp-kinds",
        content=OutboundContent(kind="template", text="Hi Rosa, our spring sale starts today.",
                                template_name="spring_sale", template_language="en_US"),
        wamid="wamid.kinds.out", accepted_at=at)
    sent = MessageStatusChanged(
        occurred_at=at, tenant_id=inbox.channel.tenant_id, conversation_id=cid,
        payload=StatusUpdate(wamid="wamid.kinds.out", status="sent",
                             at=at - timedelta(seconds=1),
                             business_phone_number_id=inbox.channel.phone_number_id,
                             recipient_wa_id=WA_ID))
    return [accepted, sent]


async def until(inbox: RunningInbox, query: dict[str, Any]) -> None:
    """Returns once the store wrote a message matching ``query`` (polling, as stack.py does)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while await inbox.db["messages"].find_one(query) is None:
        if loop.time() > deadline:
            raise TimeoutError(f"no message {query}")
        await asyncio.sleep(0.05)


def bubble(page: Page, text: str) -> Any:
    return page.get_by_test_id("message").filter(has_text=text)


async def test_every_kind_shows_its_content(inbox: RunningInbox, settings: InfraSettings,
                                            producer: Any) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    events = customer_messages(inbox, start)
    await inbox.db["campaigns"].insert_one({"_id": "cmp-kinds", "tenant_id": "acme",
                                            "name": "Spring sale"})
    await publish(producer, settings.topic(WHATSAPP_INBOUND), events)
    await until(inbox, {"wamid": events[-1].payload.wamid, "visible": True})
    await publish(producer, settings.topic(INBOX_OUTBOUND),
                  campaign_send(inbox, start + timedelta(minutes=1))[:1])
    await until(inbox, {"wamid": "wamid.kinds.out", "visible": True})
    await publish(producer, settings.topic(WHATSAPP_INBOUND),
                  campaign_send(inbox, start + timedelta(minutes=1))[1:])
    await until(inbox, {"wamid": "wamid.kinds.out", "statuses.status": "sent"})

    async with browser_page(1280, 1600) as page:
        await sign_in(page, inbox)
        await page.get_by_test_id("conversation-item").filter(has_text=NAME).click()
        await expect(page.get_by_test_id("thread-name")).to_have_text(NAME)

        ad = page.get_by_test_id("referral")
        await expect(ad).to_contain_text("From an ad")
        await expect(ad).to_contain_text("Blue running shoes")
        await expect(ad).to_contain_text("20% off this week only")
        await expect(ad.get_by_role("link", name="View the ad")).to_have_attribute(
            "href", "https://fb.me/ad-120")
        await expect(ad.locator("img.referral-thumb")).to_be_visible()
        await expect(bubble(page, "I saw your ad")).not_to_contain_text("BODY")

        await expect(bubble(page, "Look at this deal").get_by_test_id("forwarded")) \
            .to_have_text("Forwarded")
        await expect(bubble(page, "Everyone is sharing this").get_by_test_id("forwarded")) \
            .to_have_text("Forwarded many times")

        order = page.get_by_test_id("order")
        await expect(order.get_by_test_id("order-item")).to_have_count(2)
        await expect(order.get_by_test_id("order-item").first).to_contain_text("SKU-BLUE-42")
        await expect(order.get_by_test_id("order-item").first).to_contain_text("× 2")
        await expect(order.get_by_test_id("order-total")).to_contain_text("104.00")
        await expect(order).to_contain_text("Please gift-wrap")

        card = page.get_by_test_id("contact-card")
        await expect(card).to_contain_text("Marta López")
        await expect(card).to_contain_text("Shoe Club")
        await expect(card.get_by_test_id("contact-number")).to_contain_text("+34 699 111 222")
        await expect(card).to_contain_text("marta@example.com")

        flow = page.get_by_test_id("flow-answers")
        await expect(flow).to_contain_text("Preferred date")
        await expect(flow).to_contain_text("2026-03-02")
        await expect(flow).to_contain_text("Size 42")
        await expect(flow).to_contain_text("Newsletter")
        await expect(flow).not_to_contain_text(FLOW_TOKEN)
        shown = await page.locator("#thread").inner_text()
        assert FLOW_TOKEN not in shown
        assert "[object" not in shown

        calls = page.get_by_test_id("call-permission")
        await expect(calls).to_contain_text("Allowed you to call")
        await expect(calls).to_contain_text("Until")
        await expect(page.get_by_test_id("choice").filter(has_text="Yes, ship it")) \
            .to_contain_text("Tapped a button")

        place = page.get_by_test_id("location")
        await expect(place).to_contain_text("Puerta del Sol")
        await expect(place).to_contain_text("Plaza de la Puerta del Sol, Madrid")
        await expect(place.get_by_test_id("map-link")).to_have_attribute(
            "href", re.compile(r"^https://www\.openstreetmap\.org/\?mlat=40\.4168&mlon=-3\.7038"))

        await expect(page.get_by_test_id("unsupported")).to_contain_text(
            "This message type is not supported by WhatsApp Cloud API yet (poll)")
        await expect(page.get_by_test_id("meta-errors")).to_contain_text(
            "Message type unknown: Message type is currently not supported. (error 131051)")

        sale = bubble(page, "our spring sale starts today")
        await expect(sale.get_by_test_id("campaign-chip")).to_have_text("Campaign: Spring sale")
        await expect(sale).not_to_contain_text("cmp-kinds")
        await expect(sale.get_by_test_id("message-status")).to_have_attribute(
            "title", re.compile(r"^Sending .*\nSent ", re.S))
        await snap(page, "40-message-kinds")

        # A shared contact's number starts a conversation: the form opens with it filled in.
        await card.get_by_test_id("contact-start").click()
        dialog = page.get_by_test_id("new-dialog")
        await expect(dialog).to_be_visible()
        await expect(page.locator("#new-number")).to_have_value("+34699111222")
        await snap(page, "41-contact-start-conversation")


async def test_the_template_composer_fits_a_phone(inbox: RunningInbox) -> None:
    await inbox.customer_says("Can you send me the offer?", wa_id="16505550177",
                             name="Pia Phone")
    async with browser_page(375, 740) as page:
        await sign_in(page, inbox)
        await page.get_by_test_id("conversation-item").filter(has_text="Pia Phone").click()
        await expect(page.get_by_test_id("thread-name")).to_have_text("Pia Phone")
        await page.get_by_role("button", name="Send a template instead").click()
        select = page.get_by_test_id("template-select")
        await select.select_option(value="order_update:en_US")
        await page.get_by_test_id("template-var-1").fill("Pia")
        box = await page.get_by_test_id("composer").bounding_box()
        form = await page.get_by_test_id("template-composer").bounding_box()
        send = await page.get_by_test_id("template-send").bounding_box()
        for what in (box, form, send):
            assert what is not None
            assert what["x"] >= 0
            assert what["x"] + what["width"] <= 375, what
        assert await page.evaluate("document.documentElement.scrollWidth") <= 375
        await snap(page, "42-phone-template-composer")
