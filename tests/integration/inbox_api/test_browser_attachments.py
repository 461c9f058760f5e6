"""The composer's attach button in a real browser on the whole running product: a photo with a
caption goes out and shows in the thread; a file WhatsApp does not take shows the API's error;
with the window closed the button is disabled. Screenshots land in artifacts/browser/."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.async_api import FilePayload, expect

from sandbox.media import placeholder_png
from tests.integration.inbox_api.stack import RunningInbox
from tests.integration.inbox_api.test_browser import CHROMIUM, PIPELINE_MS, browser_page, snap

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="Debian's Chromium is not installed at /usr/bin/chromium"),
    pytest.mark.timeout(300),
]


async def test_an_agent_attaches_a_photo_with_a_caption(inbox: RunningInbox) -> None:
    await inbox.customer_says("Can I see it first?", wa_id="16505550151", name="Ines Customer")
    async with browser_page() as page:
        await page.goto(await inbox.sign_in_url())
        await page.get_by_test_id("conversation-item").filter(has_text="Ines Customer").click()

        # A file WhatsApp does not take: the API says why, in the composer's alert.
        attach = page.get_by_test_id("attach-input")
        await attach.set_input_files(files=FilePayload(name="cat.gif", mimeType="image/gif",
                                                       buffer=b"GIF89a\x01\x00\x01\x00"))
        await expect(page.get_by_test_id("attach-name")).to_contain_text("cat.gif")
        await page.get_by_test_id("attach-send").click()
        error = page.get_by_test_id("composer-error")
        await expect(error).to_be_visible()
        await expect(error).to_contain_text("WhatsApp does not take image/gif files")
        await snap(page, "20-attachment-refused")

        await attach.set_input_files(files=FilePayload(name="blue.png", mimeType="image/png",
                                                       buffer=placeholder_png("blue")))
        await expect(error).to_be_hidden()
        await expect(page.get_by_test_id("attach-name")).to_contain_text("blue.png")
        caption = page.get_by_test_id("attach-caption")
        await expect(caption).to_be_focused()
        await caption.fill("Here it is in blue")
        await snap(page, "21-attachment-chosen")
        await caption.press("Enter")
        await expect(page.get_by_test_id("attach-bar")).to_be_hidden()

        # The stored message (the pending bubble has no image).
        sent = page.locator("li[data-direction=outbound]").filter(
            has=page.locator("img.media-img"))
        await expect(sent).to_contain_text("Here it is in blue", timeout=PIPELINE_MS)
        await expect(sent).to_have_attribute("data-status", re.compile(r"^(sent|delivered|read)$"),
                                             timeout=PIPELINE_MS)
        await snap(page, "22-attachment-sent")


async def test_the_attach_button_is_disabled_when_the_window_is_closed(
        inbox: RunningInbox) -> None:
    await inbox.customer_says("Hello", wa_id="16505550152", name="Jon Customer")
    inbox.clock.shift = timedelta(hours=25)
    async with browser_page() as page:
        await page.goto(await inbox.sign_in_url())
        await page.get_by_test_id("conversation-item").filter(has_text="Jon Customer").click()
        notice = page.get_by_test_id("window-notice")
        await expect(notice).to_contain_text("more than 24 hours old")
        attach = notice.get_by_test_id("attach-input")
        await expect(attach).to_be_disabled()
        await expect(attach).to_have_accessible_description(re.compile("more than 24 hours"))
        await snap(page, "23-attach-disabled")
