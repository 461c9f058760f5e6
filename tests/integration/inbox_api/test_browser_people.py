"""People, not keys (issue 14): a customer who hides their number behind a username shows in a
real browser (Debian's Chromium) by name and @username, never by the conversation key or the
BSUID, and a number change shows as a line in the thread.

The events are published to ``whatsapp.inbound.v1`` as webhook_ingest would publish them (the
real store folds them, the real inbox_api serves them); screenshots land in artifacts/browser/.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import expect

from shared.config import InfraSettings
from shared.events import CustomerProfile, IdentityChange, InboundMessage, MessageReceived
from shared.events.topics import WHATSAPP_INBOUND
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

BSUID = "US.13491208655302741918"
NEW_NUMBER = "34699887766"


def message(inbox: RunningInbox, cid: str, wamid: str, sent_at: datetime, *,
            text: str = "", identity: IdentityChange | None = None,
            customer: CustomerProfile | None = None) -> MessageReceived:
    return MessageReceived(
        occurred_at=sent_at + timedelta(seconds=1), tenant_id=inbox.channel.tenant_id,
        conversation_id=cid,
        payload=InboundMessage(
            wamid=wamid, message_type="system" if identity else "text", sent_at=sent_at,
            business_phone_number_id=inbox.channel.phone_number_id, from_wa_id=None,
            from_user_id=BSUID, customer=customer,
            content={"body": text}, preview=text, identity_change=identity))


async def stored(inbox: RunningInbox, wamid: str) -> None:
    """Returns once the store wrote the message (polling the database, as stack.py does)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while await inbox.db["messages"].find_one({"wamid": wamid, "visible": True}) is None:
        if loop.time() > deadline:
            raise TimeoutError(f"message {wamid} did not reach the thread")
        await asyncio.sleep(0.05)


async def test_a_username_customer_shows_by_name_and_username(
        inbox: RunningInbox, settings: InfraSettings, producer: Any) -> None:
    cid = f"{inbox.channel.phone_number_id}:{BSUID}"
    now = datetime.now(UTC).replace(microsecond=0)
    hello = message(inbox, cid, "wamid.people.1", now - timedelta(seconds=30),
                    text="Hi, is my order ready?",
                    customer=CustomerProfile(user_id=BSUID, name="Ana García",
                                             username="ana.garcia"))
    moved = message(inbox, cid, "wamid.people.2", now - timedelta(seconds=10),
                    identity=IdentityChange(kind="number", new_wa_id=NEW_NUMBER))
    await publish(producer, settings.topic(WHATSAPP_INBOUND), [hello, moved])
    await stored(inbox, "wamid.people.1")
    await stored(inbox, "wamid.people.2")

    async with browser_page() as page:
        await sign_in(page, inbox)
        item = page.get_by_test_id("conversation-item").filter(has_text="Ana García")
        await expect(item).to_be_visible()
        await expect(item).not_to_contain_text(BSUID)
        await item.click()
        await expect(page.get_by_test_id("thread-name")).to_have_text("Ana García")
        details = page.get_by_test_id("thread-customer-detail")
        await expect(details.first).to_have_text("@ana.garcia")
        await expect(details.nth(1)).to_have_text("+34 699 88 77 66")
        line = page.get_by_test_id("system-line")
        await expect(line).to_have_text("Ana García changed their phone number to "
                                        "+34 699 88 77 66")
        header = await page.locator(".thread-head").inner_text()
        listed = await item.inner_text()
        for text in (header, listed):
            assert BSUID not in text
            assert cid not in text
        await snap(page, "30-username-customer")


async def test_only_a_bsuid_shows_a_short_label(
        inbox: RunningInbox, settings: InfraSettings, producer: Any) -> None:
    other = "US.99911122233344455566"
    cid = f"{inbox.channel.phone_number_id}:{other}"
    event = message(inbox, cid, "wamid.people.3", datetime.now(UTC) - timedelta(seconds=5),
                    text="Hello from nobody", customer=CustomerProfile(user_id=other))
    event = event.model_copy(update={"payload": event.payload.model_copy(
        update={"from_user_id": other})})
    await publish(producer, settings.topic(WHATSAPP_INBOUND), [event])
    await stored(inbox, "wamid.people.3")
    async with browser_page() as page:
        await sign_in(page, inbox)
        item = page.get_by_test_id("conversation-item").filter(has_text="Hello from nobody")
        name = item.get_by_test_id("conversation-name")
        await expect(name).to_have_text("WhatsApp user")
        await expect(name).to_have_attribute("title", f"WhatsApp user {other}")
