"""Labels, canned replies and the audit page in a real browser (Debian's Chromium) on the whole
product: an agent labels a conversation from its header and filters the list by the label; types
"/" in the composer, picks a canned reply and edits the filled text before sending it; an admin
reads the audit page, filters it and finds the CSV link. Screenshots land in artifacts/browser/
(80-84)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.integration.inbox_api.stack import RunningInbox
from tests.integration.inbox_api.test_api import eventually
from tests.integration.inbox_api.test_browser import CHROMIUM, PIPELINE_MS, browser_page, snap
from tests.integration.inbox_api.test_browser_pages import sign_in

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="Debian's Chromium is not installed at /usr/bin/chromium "
                              "(apt-get install chromium)"),
    pytest.mark.timeout(300),
]


async def test_a_label_put_on_in_the_header_filters_the_list(inbox: RunningInbox) -> None:
    await inbox.customer_says("My parcel never came", wa_id="16505550181", name="Lena Label")
    await inbox.customer_says("Just saying hi", wa_id="16505550182", name="Otto Other")
    async with inbox.client() as http:
        assert (await http.post("/api/v1/labels",
                                json={"name": "Urgent", "colour": "#cf222e"})).status_code == 201
    async with browser_page() as page:
        await sign_in(page, inbox)
        lena = page.get_by_test_id("conversation-item").filter(has_text="Lena Label")
        otto = page.get_by_test_id("conversation-item").filter(has_text="Otto Other")
        await lena.click()
        await page.get_by_test_id("label-picker").click()
        await page.get_by_test_id("label-option").filter(has_text="Urgent").click()
        head = page.locator(".thread-head .who-sub").get_by_test_id("label-chip")
        await expect(head).to_have_text(["Urgent"])
        # A new label made from the picker goes on at once, too.
        await page.get_by_test_id("label-new-name").fill("Refund")
        await page.get_by_test_id("label-create").click()
        await expect(head).to_have_text(["Refund", "Urgent"])
        await expect(lena.get_by_test_id("label-chip")).to_have_text(["Refund", "Urgent"])
        await snap(page, "80-label-picker")

        await page.keyboard.press("Escape")
        await page.get_by_test_id("label-filter").select_option(label="Urgent")
        await expect(otto).to_have_count(0)
        await expect(lena).to_be_visible()
        await snap(page, "81-label-filter")
        await page.get_by_test_id("label-filter").select_option(label="All labels")
        await expect(otto).to_be_visible()


async def test_a_canned_reply_is_picked_with_a_slash_and_edited_before_sending(
        inbox: RunningInbox) -> None:
    await inbox.customer_says("When are you open?", wa_id="16505550183", name="Carla Canned")
    async with inbox.client() as http:
        for shortcut, title, text in [
                ("hours", "Opening hours", "Hi {{contact.first_name}}, we are open 9 to 5."),
                ("hello", "Greeting", "Hello {{contact.name}}!")]:
            created = await http.post("/api/v1/canned-replies",
                                      json={"shortcut": shortcut, "title": title, "text": text})
            assert created.status_code == 201
    async with browser_page() as page:
        await sign_in(page, inbox)
        await page.get_by_test_id("conversation-item").filter(has_text="Carla Canned").click()
        composer = page.get_by_test_id("composer-input")
        await composer.click()
        await composer.press_sequentially("/ho")
        items = page.get_by_test_id("canned-item")
        await expect(items).to_have_count(1)
        await expect(items.first).to_contain_text("/hours")
        await snap(page, "82-canned-picker")
        await composer.press("Enter")
        # Filled for the contact, and not sent: the agent edits it first.
        await expect(composer).to_have_value("Hi Carla, we are open 9 to 5.")
        await expect(page.get_by_test_id("message").filter(has_text="we are open")).to_have_count(0)
        await composer.press("End")
        await composer.press_sequentially(" See you!")
        await snap(page, "83-canned-inserted")
        await composer.press("Enter")
        sent = page.get_by_test_id("message").filter(has_text="we are open 9 to 5. See you!")
        await expect(sent).to_be_visible(timeout=PIPELINE_MS)


async def test_the_audit_page_shows_filters_and_exports(inbox: RunningInbox) -> None:
    await inbox.customer_says("Audit me", wa_id="16505550184", name="Abe Audit")
    cid = inbox.conversation_id("16505550184")
    async with inbox.client() as http:
        sent = await http.post(f"/api/v1/conversations/{cid}/messages",
                               json={"kind": "text", "text": "Checking your order now."})
        assert sent.status_code == 202
        await http.post(f"/api/v1/conversations/{cid}/assignee", json={"assignee_id": "me"})
        await http.post("/api/v1/labels", json={"name": "Audited"})

        async def recorded() -> bool | None:
            # Entries are written in the background, just after each answer.
            items = (await http.get("/api/v1/audit", params={"limit": "200"})).json()["items"]
            return True if {"conversation.reply", "conversation.assign", "label.create"} <= {
                e["action"] for e in items} else None

        await eventually(recorded)
    async with browser_page() as page:
        await sign_in(page, inbox)
        await expect(page.get_by_test_id("nav-audit")).to_be_visible()
        await page.get_by_test_id("nav-audit").click()
        await expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
        entries = page.get_by_test_id("audit-entry")
        reply = entries.filter(has_text="conversation.reply")
        await expect(reply).to_contain_text("Checking your order now.")
        await expect(reply).to_contain_text("Ana Agent")
        await expect(entries.filter(has_text="conversation.assign")).to_be_visible()
        await snap(page, "84-audit-page")

        await page.get_by_test_id("audit-action").select_option("conversation.assign")
        await expect(entries).to_have_count(1)
        await expect(page.get_by_test_id("audit-csv")).to_have_attribute(
            "href", re.compile(r"/api/v1/audit\.csv\?action=conversation\.assign"))
        async with page.expect_download() as download_info:
            await page.get_by_test_id("audit-csv").click()
        download = await download_info.value
        path = await download.path()
        text = path.read_text()
        assert text.splitlines()[0].startswith("at,agent_id,agent_name,action")
        assert "conversation.assign" in text
        assert "conversation.reply" not in text
