"""Issue 15 in a real browser (Debian's Chromium): an edited message shows its newest text with an
"edited" button that opens the earlier versions, a deleted one says only that it was deleted, a
message sent from the WhatsApp Business app carries an "App" label, and a call is a line.

The events are published to ``whatsapp.inbound.v1`` as webhook_ingest would publish them (the
real store folds them, the real inbox_api serves them); screenshots land in artifacts/browser/.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import expect

from shared.config import InfraSettings
from tests.integration.inbox_api.coexistence_events import Customer, conversation_stored, send
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


async def test_edited_deleted_app_and_call_lines(
        inbox: RunningInbox, settings: InfraSettings, producer: Any) -> None:
    c = Customer(inbox, "16505550241", "Marta Edits")
    t = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    await send(
        settings, producer,
        c.calls("call.9", t, "connect"),
        c.calls("call.9", t + timedelta(seconds=25), "terminate", status="FAILED"),
        c.says("w.edit", t + timedelta(minutes=1), "Can I book for 4 people?"),
        c.edits("e.edit", "w.edit", t + timedelta(minutes=2), "Can I book for 5 people?"),
        c.says("w.gone", t + timedelta(minutes=3), "My card number is 4111 1111"),
        c.deletes("r.gone", "w.gone", t + timedelta(minutes=4)),
        c.app_sends("x.app", t + timedelta(minutes=5), "Booked: 5 people at 8 pm"),
        c.calls("call.10", t + timedelta(minutes=6), "connect"),
        c.calls("call.10", t + timedelta(minutes=9, seconds=12), "terminate",
                status="COMPLETED", duration_seconds=192),
    )
    await conversation_stored(inbox, c.cid, last_message_id=f"{c.cid}/call:call.10",
                              last_message_preview="Call answered · 3 min 12 s")

    async with browser_page() as page:
        await sign_in(page, inbox)
        item = page.get_by_test_id("conversation-item").filter(has_text="Marta Edits")
        await expect(item).to_be_visible()
        await item.click()
        messages = page.get_by_test_id("message")
        await expect(messages).to_have_count(3)  # the edit and the deletion are no bubbles
        edited = messages.filter(has_text="Can I book for 5 people?")
        await expect(edited.get_by_test_id("edited-button")).to_be_visible()
        deleted = messages.nth(1)
        await expect(deleted).to_contain_text("This message was deleted")
        await expect(page.locator(".messages")).not_to_contain_text("4111")
        app = messages.filter(has_text="Booked: 5 people at 8 pm")
        await expect(app.get_by_test_id("from-app")).to_have_text("App")
        calls = page.get_by_test_id("call-line")
        await expect(calls).to_have_count(2)
        await expect(calls.first).to_contain_text("Missed call")
        await expect(calls.nth(1)).to_contain_text("Call answered · 3 min 12 s")
        await snap(page, "50-edited-deleted-app-call")

        await edited.get_by_test_id("edited-button").click()
        history = edited.get_by_test_id("edit-history")
        await expect(history).to_contain_text("Can I book for 4 people?")
        await snap(page, "51-edit-history")
