"""Presence in a real browser (Debian's Chromium) on the whole product (issue 16 item 7): Ana and
Bea, two agents of one tenant in two browser contexts, open the same thread. Each sees the other
in the thread's header; Bea types and Ana sees "Bea Lopez is typing…"; Ana replies, and Bea's
send still asks first ("Ana Agent replied N s ago": the guard stays); Bea leaves the thread and
Ana's header no longer shows her. Screenshots 85-87 land in artifacts/browser/."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from services.inbox_api.admin import create_key
from tests.integration.inbox_api.stack import RunningInbox
from tests.integration.inbox_api.test_browser import CHROMIUM, browser_page, snap

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="Debian's Chromium is not installed at /usr/bin/chromium"),
    pytest.mark.timeout(300),
]

CUSTOMER = "16505550187"
# Presence polls every 3 s and beats every 10 s: a generous deadline, not a timed check.
LIVE = 20_000


async def open_thread(page: Page, inbox: RunningInbox, key: str) -> None:
    await page.goto(await inbox.sign_in_url(key))
    await expect(page.locator("#live")).to_have_attribute("data-state", "live")
    await page.get_by_test_id("conversation-item").filter(has_text="Pia Customer").click()
    await expect(page.get_by_test_id("thread-name")).to_have_text("Pia Customer")


async def test_presence_of_two_agents_on_one_thread(inbox: RunningInbox) -> None:
    bea_key = await create_key(inbox.db, tenant="acme", agent="bea", name="Bea Lopez")
    await inbox.customer_says("Can someone help me with my booking?", wa_id=CUSTOMER,
                              name="Pia Customer")
    async with browser_page() as ana:
        assert ana.context.browser is not None
        context = await ana.context.browser.new_context(viewport={"width": 1366, "height": 800})
        bea = await context.new_page()
        bea.set_default_timeout(30_000)
        await open_thread(ana, inbox, inbox.api_key)
        await open_thread(bea, inbox, bea_key)

        # Each sees the other viewing, never themselves.
        ana_bar, bea_bar = ana.get_by_test_id("presence"), bea.get_by_test_id("presence")
        await expect(ana_bar.get_by_test_id("presence-text")).to_have_text(
            "Bea Lopez is viewing", timeout=LIVE)
        await expect(ana_bar.get_by_test_id("presence-agent")).to_have_text("BL")
        await expect(bea_bar.get_by_test_id("presence-text")).to_have_text(
            "Ana Agent is viewing", timeout=LIVE)
        await snap(ana, "85-presence-colleague-viewing")

        # Bea types a reply: Ana sees her typing.
        await bea.get_by_test_id("composer-input").press_sequentially("Let me look at your book")
        await expect(ana_bar.get_by_test_id("presence-text")).to_have_text(
            "Bea Lopez is typing…", timeout=LIVE)
        await expect(ana_bar.get_by_test_id("presence-agent")).to_have_attribute(
            "data-state", "typing")
        await snap(ana, "86-presence-colleague-typing")

        # Ana answers first; Bea's send still asks (the "replied N s ago" guard stays).
        await ana.get_by_test_id("composer-input").fill("Hi Pia, I am on it.")
        await ana.get_by_test_id("send-button").click()
        await expect(ana.get_by_test_id("messages")).to_contain_text("I am on it.")
        await expect(bea.get_by_test_id("messages")).to_contain_text("I am on it.",
                                                                      timeout=LIVE)
        await bea.get_by_test_id("send-button").click()
        await expect(bea.locator("#confirm-title")).to_have_text(
            re.compile(r"^Ana Agent replied \d+ s ago$"))
        await bea.get_by_test_id("confirm-cancel").click()

        # Bea leaves the thread (back to the list): gone from Ana's header.
        await bea.evaluate("location.hash = ''")
        await expect(ana_bar).to_be_hidden(timeout=LIVE)
        await expect(bea.get_by_test_id("presence")).to_be_hidden()
        await snap(ana, "87-presence-colleague-left")
        await context.close()
