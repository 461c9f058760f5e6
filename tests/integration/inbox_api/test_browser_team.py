"""People in a real browser (Debian's Chromium) on the whole product: an admin invites from the
Team page and copies the link, the invited agent chooses a password and lands in the inbox,
signs in again with email and password, and is signed out everywhere once deactivated.
Screenshots 70-74 land in artifacts/browser/.
"""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.integration.inbox_api.stack import RunningInbox
from tests.integration.inbox_api.test_browser import CHROMIUM, browser_page, snap

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="Debian's Chromium is not installed at /usr/bin/chromium "
                              "(apt-get install chromium)"),
    pytest.mark.timeout(300),
]

PASSWORD = "correct horse battery"


async def test_invite_join_sign_in_and_deactivate(inbox: RunningInbox) -> None:
    async with browser_page() as admin:
        # ana (the tenant's first key: an admin) opens the Team page from the rail.
        await admin.goto(await inbox.sign_in_url())
        await expect(admin.locator("#live")).to_have_attribute("data-state", "live")
        await admin.get_by_test_id("nav-team").click()
        await expect(admin.get_by_test_id("team-member").filter(has_text="Ana Agent")
                     ).to_contain_text("Admin")
        await admin.get_by_test_id("invite-name").fill("Bea Agent")
        await admin.get_by_test_id("invite-email").fill("bea@acme.test")
        await admin.get_by_test_id("invite-create").click()
        link_field = admin.get_by_test_id("invite-link")
        await expect(link_field).to_be_visible()
        link = await link_field.input_value()
        assert link.startswith(f"{inbox.base_url}/#invite=")
        await snap(admin, "70-team-invite-link")

        # Bea opens the link in her own browser and chooses a password.
        assert admin.context.browser is not None
        context = await admin.context.browser.new_context(
            viewport={"width": 1366, "height": 800})
        bea = await context.new_page()
        await bea.goto(link)
        await expect(bea.get_by_test_id("invite-form")).to_be_visible()
        await expect(bea.get_by_test_id("invite-who")).to_have_text(
            "Bea Agent (bea@acme.test), invited as an agent.")
        await bea.get_by_test_id("invite-password").fill("short")
        await bea.get_by_test_id("invite-repeat").fill("short")
        await bea.get_by_test_id("invite-submit").click()
        await expect(bea.get_by_test_id("invite-error")).to_contain_text("at least 10")
        await bea.get_by_test_id("invite-password").fill(PASSWORD)
        await bea.get_by_test_id("invite-repeat").fill(PASSWORD)
        await snap(bea, "71-invite-accept")
        await bea.get_by_test_id("invite-submit").click()
        await expect(bea.locator("#live")).to_have_attribute("data-state", "live")
        # An agent: no Team section; the link is used up and gone from the address bar.
        await expect(bea.get_by_test_id("nav-team")).to_be_hidden()
        assert "#invite=" not in bea.url
        await snap(bea, "72-agent-inbox")

        # Signed out, Bea signs in with email and password (a wrong one first).
        await bea.locator("#account-button").click()
        await bea.get_by_test_id("signout").click()
        await bea.get_by_test_id("signin-email").fill("bea@acme.test")
        await bea.get_by_test_id("signin-password").fill("not my password")
        await bea.get_by_test_id("signin-submit").click()
        await expect(bea.get_by_test_id("signin-error")).to_have_text("Wrong email or password.")
        await bea.get_by_test_id("signin-password").fill(PASSWORD)
        await snap(bea, "73-sign-in-email-password")
        await bea.get_by_test_id("signin-submit").click()
        await expect(bea.locator("#live")).to_have_attribute("data-state", "live")

        # The admin sees Bea and deactivates her; her open page is signed out at its next call.
        await admin.reload()
        row = admin.get_by_test_id("team-member").filter(has_text="Bea Agent")
        await expect(row).to_contain_text("bea@acme.test")
        await expect(row.get_by_test_id("member-status")).to_have_text("Active")
        await row.get_by_test_id("member-deactivate").click()
        await admin.get_by_test_id("confirm-ok").click()
        await expect(row.get_by_test_id("member-status")).to_have_text("Deactivated")
        await snap(admin, "74-team-deactivated")
        await bea.reload()
        await expect(bea.get_by_test_id("signin-submit")).to_be_visible()
        await context.close()
