"""Read receipts and typing from a real browser on the whole running product: opening the thread
makes WhatsApp (the sandbox) get one read receipt for the customer's message, and typing in the
composer shows the customer WhatsApp's typing indicator."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from sandbox.records import ReceivedRequest
from tests.integration.inbox_api.stack import RunningInbox
from tests.integration.inbox_api.test_api import eventually
from tests.integration.inbox_api.test_browser import CHROMIUM, browser_page

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="Debian's Chromium is not installed at /usr/bin/chromium"),
    pytest.mark.timeout(300),
]

CUSTOMER = "16505550161"


async def test_opening_the_thread_sends_the_read_receipt_and_typing_shows(
        inbox: RunningInbox) -> None:
    pnid = inbox.channel.phone_number_id
    await inbox.customer_says("Is the shop open on Sunday?", wa_id=CUSTOMER, name="Gia Customer")
    [message] = await inbox.sandbox.customer_messages(pnid)
    wamid = message.wamid

    async def receipts() -> list[ReceivedRequest] | None:
        return await inbox.sandbox.read_receipts(pnid, message_id=wamid) or None

    async def typing() -> list[ReceivedRequest] | None:
        return await inbox.sandbox.typing_indicators(pnid, message_id=wamid) or None

    async with browser_page() as page:
        await page.goto(await inbox.sign_in_url())
        item = page.get_by_test_id("conversation-item").filter(has_text="Gia Customer")
        await expect(item.get_by_test_id("unread-badge")).to_have_text("1")
        assert await inbox.sandbox.read_receipts(pnid) == []
        await item.click()
        await expect(page.get_by_test_id("thread-name")).to_have_text("Gia Customer")
        await expect(item.get_by_test_id("unread-badge")).to_have_count(0)
        [receipt] = await eventually(receipts)
        assert receipt.body["message_id"] == wamid

        await page.get_by_test_id("composer-input").press_sequentially("Yes, from 10 to 4")
        [indicator] = await eventually(typing)
        assert indicator.body["typing_indicator"] == {"type": "text"}
