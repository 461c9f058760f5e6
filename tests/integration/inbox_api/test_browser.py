"""The web inbox in a real browser (Debian's Chromium, headless) on the whole running product.

An agent signs in, sees a customer's message arrive live, replies and watches it tick to read;
after the 24-hour window closed, the composer says so and sends an approved template instead.
Screenshots of each step land in artifacts/browser/ (git-ignored) for people to look at.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from services.inbox_api.admin import create_key
from tests.integration.inbox_api.stack import RunningInbox

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[3] / "artifacts" / "browser"
# Generous: the reply crosses Kafka, the sender, the sandbox and back as status webhooks.
PIPELINE_MS = 60_000

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="Debian's Chromium is not installed at /usr/bin/chromium "
                              "(apt-get install chromium)"),
    pytest.mark.timeout(300),
]


@asynccontextmanager
async def browser_page(width: int = 1366, height: int = 800) -> AsyncIterator[Page]:
    """A page of a fresh headless Chromium; every page must work under the inbox's
    Content-Security-Policy: a violation Chromium reports on the console fails the test."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                   args=CHROMIUM_ARGS)
        violations: list[str] = []
        try:
            context = await browser.new_context(viewport={"width": width, "height": height})
            page = await context.new_page()
            page.on("console", lambda message: violations.append(message.text)
                    if "Content Security Policy" in message.text else None)
            page.set_default_timeout(30_000)
            yield page
        finally:
            await browser.close()
        assert violations == [], f"the CSP refused something: {violations}"


async def snap(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


async def test_customer_message_arrives_live_and_the_reply_ticks_to_read(
        inbox: RunningInbox) -> None:
    async with browser_page() as page:
        await page.goto(inbox.base_url + "/")
        # People sign in with email and password; an API key is the other way.
        await page.get_by_test_id("signin-mode").click()
        await page.get_by_test_id("signin-key").fill(inbox.api_key)
        await snap(page, "01-sign-in")
        await page.get_by_test_id("signin-submit").click()
        await expect(page.locator("#live")).to_have_attribute("data-state", "live")
        await expect(page.get_by_text("No conversations here")).to_be_visible()
        await snap(page, "02-empty-inbox")

        # The customer writes while the page is open: the stream brings it, no reload.
        await inbox.customer_says("Hi! Where is my order?", wa_id="16505550141",
                                 name="Carla Customer")
        item = page.get_by_test_id("conversation-item").filter(has_text="Carla Customer")
        await expect(item).to_be_visible()
        await expect(item).to_contain_text("Hi! Where is my order?")
        await expect(item.get_by_test_id("unread-badge")).to_have_text("1")
        await expect(item).to_contain_text(re.compile(r"\d+h \d+m left"))
        await snap(page, "03-message-arrived")

        await item.click()
        await expect(page.get_by_test_id("thread-name")).to_have_text("Carla Customer")
        inbound = page.get_by_test_id("message").filter(has_text="Hi! Where is my order?")
        await expect(inbound).to_have_attribute("data-direction", "inbound")
        composer = page.get_by_test_id("composer-input")
        await composer.fill("It ships today, Carla.")
        await composer.press("Enter")
        await expect(composer).to_have_value("")

        reply = page.locator("li[data-direction=outbound]").filter(
            has_text="It ships today, Carla.")
        await expect(reply).to_be_visible()
        await expect(reply).to_have_attribute("data-status", "read", timeout=PIPELINE_MS)
        await expect(reply.get_by_test_id("message-status").get_by_role("img", name="Read")) \
            .to_be_visible()
        await snap(page, "04-reply-read")


async def test_closed_window_offers_templates_and_sends_one(inbox: RunningInbox) -> None:
    await inbox.customer_says("Do you have this in blue?", wa_id="16505550142",
                             name="Dora Customer")
    inbox.clock.shift = timedelta(hours=25)  # inbox_api's and the sender's "now"

    # The one-click login link that ./dev run prints; the key leaves the address bar at once.
    async with browser_page() as page:
        link = await inbox.sign_in_url()
        await page.goto(link)
        item = page.get_by_test_id("conversation-item").filter(has_text="Dora Customer")
        await expect(item).to_be_visible()
        assert "signin=" not in page.url
        await expect(item).to_contain_text("Window closed")
        await item.click()

        notice = page.get_by_test_id("window-notice")
        await expect(notice).to_contain_text("more than 24 hours old")
        await expect(page.get_by_test_id("composer-input")).to_have_count(0)
        select = page.get_by_test_id("template-select")
        await expect(select.locator("option", has_text="order_update")).to_have_count(1)
        await snap(page, "05-closed-window")

        await select.select_option(value="order_update:en_US")
        send = page.get_by_test_id("template-send")
        await expect(send).to_be_disabled()
        await page.get_by_test_id("template-var-1").fill("Dora")
        await page.get_by_test_id("template-var-2").fill("#1042")
        await expect(page.get_by_test_id("template-preview")).to_contain_text(
            "Hi Dora, your order #1042 is on its way.")
        await snap(page, "06-template-filled")
        await send.click()

        sent = page.locator("li[data-direction=outbound]").filter(
            has_text="Hi Dora, your order #1042 is on its way.")
        await expect(sent).to_be_visible()
        await expect(sent).to_have_attribute("data-status", re.compile(r"^(sent|delivered|read)$"),
                                             timeout=PIPELINE_MS)
        await snap(page, "07-template-sent")


async def test_warns_before_replying_when_another_agent_just_did(inbox: RunningInbox) -> None:
    await inbox.customer_says("Anyone there?", wa_id="16505550144", name="Finn Customer")
    bea = await create_key(inbox.db, tenant=inbox.channel.tenant_id, agent="bea", name="Bea")
    async with browser_page() as page:
        await page.goto(await inbox.sign_in_url())
        await page.get_by_test_id("conversation-item").filter(has_text="Finn Customer").click()
        await expect(page.get_by_test_id("composer-input")).to_be_visible()

        # Bea answers from her own session (the API); the stream shows it on this page.
        async with inbox.client(bea) as http:
            answer = await http.post(
                f"/api/v1/conversations/{inbox.conversation_id('16505550144')}/messages",
                json={"kind": "text", "text": "Bea here, looking into it."},
                headers={"Idempotency-Key": "bea-1"})
            assert answer.status_code == 202, answer.text
        beas = page.get_by_test_id("message").filter(has_text="Bea here")
        await expect(beas).to_be_visible()
        await expect(beas.locator(".bubble-author")).to_have_text("Bea")  # her name, not "bea"

        composer = page.get_by_test_id("composer-input")
        await composer.fill("Ana here too!")
        await composer.press("Enter")
        dialog = page.locator("dialog#confirm")
        await expect(dialog).to_be_visible()
        await expect(dialog).to_contain_text(re.compile(r"Bea replied \d+ s ago"))
        await snap(page, "10-another-agent-replied")
        await page.keyboard.press("Escape")
        await expect(dialog).to_be_hidden()
        await expect(composer).to_have_value("Ana here too!")

        await composer.press("Enter")
        await page.get_by_test_id("confirm-ok").click()
        await expect(page.locator("li[data-direction=outbound]").filter(has_text="Ana here too!")) \
            .to_be_visible()


async def test_phone_layout_shows_one_pane_with_a_way_back(inbox: RunningInbox) -> None:
    await inbox.customer_says("Sent from my phone", wa_id="16505550143", name="Eli Customer")
    async with browser_page(390, 844) as page:
        await page.goto(await inbox.sign_in_url())
        item = page.get_by_test_id("conversation-item").filter(has_text="Eli Customer")
        await expect(item).to_be_visible()
        await snap(page, "08-phone-list")
        await item.click()
        await expect(page.get_by_test_id("composer-input")).to_be_visible()
        await expect(item).to_be_hidden()
        await snap(page, "09-phone-thread")
        await page.get_by_test_id("back").click()
        await expect(item).to_be_visible()


async def test_starts_a_new_conversation_with_a_template(inbox: RunningInbox) -> None:
    async with browser_page() as page:
        await page.goto(await inbox.sign_in_url())
        await expect(page.locator("#live")).to_have_attribute("data-state", "live")
        await page.get_by_test_id("new-conversation").click()
        dialog = page.get_by_test_id("new-dialog")
        await expect(dialog).to_be_visible()
        await expect(dialog).to_contain_text("From +1 555-000-7171")  # the tenant's only number

        number = page.get_by_test_id("new-number")
        await number.fill("12ab")
        await number.blur()
        await expect(page.get_by_test_id("new-number-error")).to_be_visible()
        await number.fill("+44 7700 900461")
        await expect(page.get_by_test_id("new-number-error")).to_be_hidden()
        await page.get_by_test_id("new-template").select_option(value="order_update:en_US")
        send = page.get_by_test_id("new-send")
        await expect(send).to_be_disabled()
        await page.get_by_test_id("new-var-1").fill("Gia")
        await page.get_by_test_id("new-var-2").fill("#2077")
        await expect(page.get_by_test_id("new-preview")).to_contain_text(
            "Hi Gia, your order #2077 is on its way.")
        await snap(page, "11-new-conversation")
        await send.click()

        # The conversation opens once the store has it; first contact, so templates only.
        await expect(dialog).to_be_hidden(timeout=PIPELINE_MS)
        assert page.url.endswith("#/c/" + inbox.conversation_id("447700900461").replace(":", "%3A"))
        sent = page.locator("li[data-direction=outbound]").filter(
            has_text="Hi Gia, your order #2077 is on its way.")
        await expect(sent).to_be_visible()
        await expect(page.get_by_test_id("window-notice")).to_contain_text("hasn't written")
        await expect(page.get_by_test_id("conversation-item")).to_have_count(1)
        await snap(page, "12-new-conversation-sent")


async def test_reacts_to_and_replies_to_a_customer_message(inbox: RunningInbox) -> None:
    await inbox.customer_says("Thanks, it arrived!", wa_id="16505550145", name="Hana Customer")
    cid = inbox.conversation_id("16505550145")
    async with browser_page() as page:
        await page.goto(await inbox.sign_in_url())
        await page.get_by_test_id("conversation-item").filter(has_text="Hana Customer").click()
        inbound = page.get_by_test_id("message").filter(has_text="Thanks, it arrived!")
        await expect(inbound).to_be_visible()

        # Keyboard: focus the message's React button, open the picker, pick with Enter.
        react = inbound.get_by_role("button", name="React to this message")
        await react.focus()
        await page.keyboard.press("Enter")
        picker = inbound.get_by_test_id("reaction-picker")
        await expect(picker).to_be_visible()
        await snap(page, "13-reaction-picker")
        await picker.get_by_role("button", name="React with 👍").press("Enter")
        await expect(picker).to_have_count(0)
        await expect(inbound.get_by_test_id("reactions")).to_contain_text("👍")

        # It is the stored truth, not only what the page drew: the store folded it.
        async with inbox.client() as http:
            async def folded() -> bool:
                items = (await http.get(f"/api/v1/conversations/{cid}/messages")).json()["items"]
                [message] = [m for m in items if m["text"] == "Thanks, it arrived!"]
                return {"by": "business", "emoji": "👍"} in message["reactions"]
            loop = asyncio.get_running_loop()
            end = loop.time() + PIPELINE_MS / 1000
            while not await folded():
                assert loop.time() < end, "the reaction never reached the thread"
                await asyncio.sleep(0.2)
        await expect(inbound.get_by_test_id("reactions")).to_contain_text("👍")
        await snap(page, "14-reaction-stored")

        # Reply to that message: quoted in the composer, sent with reply_to.
        await inbound.get_by_role("button", name="Reply to this message").click()
        await expect(page.get_by_test_id("reply-preview")).to_have_text("Thanks, it arrived!")
        composer = page.get_by_test_id("composer-input")
        await composer.fill("Glad to hear it, Hana!")
        await composer.press("Enter")
        await expect(page.get_by_test_id("reply-bar")).to_be_hidden()
        reply = page.locator("li[data-direction=outbound]").filter(
            has_text="Glad to hear it, Hana!")
        await expect(reply.locator(".quote")).to_contain_text("Thanks, it arrived!",
                                                              timeout=PIPELINE_MS)
        await expect(reply).to_have_attribute("data-status", re.compile(r"^(sent|delivered|read)$"),
                                              timeout=PIPELINE_MS)
        await snap(page, "15-reply-quoted")

