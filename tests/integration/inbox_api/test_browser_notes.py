"""Assignment and private notes from a real browser on the whole running product (issue 16
items 2 and 3): Ana assigns a conversation to a colleague from the thread header, filters the
list by team, writes a yellow private note mentioning Bea (picked from the @ suggestions; the
note never reaches WhatsApp), and
Bea's list shows the mention marker until she opens the conversation. Screenshots 75-79 land in
artifacts/browser/."""

from __future__ import annotations

import json

import pytest
from playwright.async_api import expect

from services.inbox_api.admin import create_key
from tests.integration.inbox_api.stack import RunningInbox
from tests.integration.inbox_api.test_api import eventually
from tests.integration.inbox_api.test_browser import CHROMIUM, browser_page, snap

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="Debian's Chromium is not installed at /usr/bin/chromium"),
    pytest.mark.timeout(300),
]

CUSTOMER = "16505550175"
NOTE = "VIP customer: @Bea Lopez please call them back before noon"


async def test_assign_to_a_colleague_and_a_note_with_a_mention(inbox: RunningInbox) -> None:
    bea_key = await create_key(inbox.db, tenant="acme", agent="bea", name="Bea Lopez")
    async with inbox.client() as http:
        created = await http.post("/api/v1/teams", json={"name": "Billing",
                                                         "member_ids": ["ana", "bea"]})
        assert created.status_code == 201, created.text
        team = created.json()
    await inbox.customer_says("My invoice shows the wrong amount", wa_id=CUSTOMER,
                              name="Hana Customer")
    cid = inbox.conversation_id(CUSTOMER)

    async with browser_page() as page:
        await page.goto(await inbox.sign_in_url())
        item = page.get_by_test_id("conversation-item").filter(has_text="Hana Customer")
        await item.click()
        await expect(page.get_by_test_id("thread-name")).to_have_text("Hana Customer")

        # Assign to a colleague from the header's dropdown.
        select = page.get_by_test_id("assign-select")
        await expect(select.locator("option", has_text="Bea Lopez")).to_have_count(1)
        await snap(page, "75-assign-dropdown")
        await select.select_option("bea")
        await expect(item).to_contain_text("Bea Lopez")

        async def assigned_to(who: str) -> bool | None:
            doc = await inbox.db["conversations"].find_one({"_id": cid})
            return True if doc and doc.get("assignee_id") == who else None

        await eventually(lambda: assigned_to("bea"))
        await snap(page, "76-assigned-to-a-colleague")

        # Then to the team: the list's team filter shows it.
        await select.select_option(team["assignee_id"])
        await eventually(lambda: assigned_to(team["assignee_id"]))
        await page.get_by_test_id("team-filter").select_option(team["assignee_id"])
        await expect(page.get_by_test_id("conversation-item")).to_have_count(1)
        await expect(item).to_contain_text("Billing")

        # A private note with an @mention: yellow, in the thread, never sent.
        await page.get_by_test_id("note-toggle").click()
        # "@Be" offers Bea; picking her writes her name.
        note_input = page.get_by_test_id("note-input")
        await note_input.press_sequentially("VIP customer: @Be")
        option = page.get_by_test_id("mention-option")
        await expect(option).to_have_count(1)
        await expect(option).to_contain_text("Bea Lopez")
        await option.click()
        await note_input.press_sequentially("please call them back before noon")
        await expect(note_input).to_have_value(NOTE)
        await page.get_by_test_id("note-send").click()
        note = page.get_by_test_id("note")
        await expect(note).to_contain_text("VIP customer")
        await expect(note.locator(".mention")).to_have_text("@Bea Lopez")
        await snap(page, "77-private-note-with-a-mention")

    # Bea's list marks the conversation until she opens it.
    async with browser_page() as page:
        await page.goto(await inbox.sign_in_url(bea_key))
        item = page.get_by_test_id("conversation-item").filter(has_text="Hana Customer")
        await expect(item.get_by_test_id("mention-badge")).to_be_visible()
        await snap(page, "78-mention-marker-in-the-list")
        await item.click()
        await expect(page.get_by_test_id("note")).to_contain_text("VIP customer")
        await expect(item.get_by_test_id("mention-badge")).to_have_count(0)
        await snap(page, "79-mentioned-agent-reads-the-note")

    async with inbox.client(bea_key) as bea:
        listed = (await bea.get("/api/v1/conversations")).json()["items"]
        assert [c["mentions_unread"] for c in listed if c["id"] == cid] == [0]
    # Nothing of the note reached WhatsApp (no command was ever published for it).
    assert not [r for r in await inbox.sandbox.received() if "VIP" in json.dumps(r.body)]
