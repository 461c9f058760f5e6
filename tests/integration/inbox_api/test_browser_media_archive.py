"""The media archive's refusal in a real browser (docs/media.md): a customer's file the archive
refused shows why under the media, and the agent can ask again. Screenshots land in
artifacts/browser/."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.integration.inbox_api.stack import RunningInbox
from tests.integration.inbox_api.test_browser import CHROMIUM, browser_page, snap
from tests.integration.inbox_api.test_media_archive import archive_record

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="Debian's Chromium is not installed at /usr/bin/chromium"),
    pytest.mark.timeout(300),
]


async def test_a_refused_file_says_why_and_can_be_retried(inbox: RunningInbox) -> None:
    result = await inbox.sandbox.customer_sends(
        inbox.channel.phone_number_id, "16505550161", "document",
        {"mime_type": "application/x-msdownload", "filename": "setup.exe"},
        name="Kim Customer")
    message = result.payload["entry"][0]["changes"][0]["value"]["messages"][0]
    assert (await archive_record(inbox, message["document"]["id"]))["status"] == (
        "disallowed_type")
    async with browser_page() as page:
        await page.goto(await inbox.sign_in_url())
        await page.get_by_test_id("conversation-item").filter(has_text="Kim Customer").click()
        note = page.get_by_test_id("media-archive")
        await expect(note).to_contain_text(
            "Media not kept: type application/x-msdownload is not allowed for documents")
        await snap(page, "40-media-not-kept")
        retry = note.get_by_test_id("media-retry")
        await retry.click()
        await expect(retry).to_have_text("Retry requested")
        await expect(retry).to_be_disabled()
