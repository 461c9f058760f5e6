"""Roles in a real browser (Debian's Chromium) on the whole product: an agent sees the
templates and campaigns pages with an admin's actions locked (their tooltip says only admins
can) or gone, and opts in to taking new conversations; an admin turns round-robin on and makes
an API key on the Team page (shown once), which works until revoked.
Screenshots 88-89 land in artifacts/browser/.
"""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import expect

from services.inbox_api.admin import create_key
from tests.integration.inbox_api.stack import RunningInbox
from tests.integration.inbox_api.test_browser import CHROMIUM, browser_page, snap

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="Debian's Chromium is not installed at /usr/bin/chromium "
                              "(apt-get install chromium)"),
    pytest.mark.timeout(300),
]


async def test_an_agent_sees_admin_actions_locked_and_takes_turns(inbox: RunningInbox) -> None:
    agent_key = await create_key(inbox.db, tenant="acme", agent="nia", name="Nia Agent")
    async with browser_page() as page:
        await page.goto(await inbox.sign_in_url(agent_key))
        await expect(page.locator("#live")).to_have_attribute("data-state", "live")
        await expect(page.get_by_test_id("nav-team")).to_be_hidden()

        await page.get_by_test_id("nav-templates").click()
        await expect(page.get_by_test_id("template-row").first).to_be_visible()
        create = page.get_by_test_id("template-new")
        sync = page.get_by_test_id("templates-sync")
        await expect(create).to_have_attribute("aria-disabled", "true")
        await expect(create).to_have_attribute("title", "Only admins can create templates.")
        await expect(sync).to_have_attribute("title",
                                             "Only admins can sync templates from WhatsApp.")
        await expect(page.get_by_test_id("template-delete")).to_have_count(0)
        await expect(page.get_by_test_id("template-edit")).to_have_count(0)
        await create.hover()
        await snap(page, "88-agent-templates-admin-actions-locked")
        # Clicking anyway says why, and nothing opens.
        await create.click()
        await expect(page.locator(".toast").last).to_contain_text("Only admins can create")
        assert "#/templates/new" not in page.url
        # A link to the form answers the same.
        await page.goto(f"{inbox.base_url}/#/templates/new")
        await expect(page.get_by_test_id("template-admin-only")).to_contain_text(
            "Only admins can create templates")

        await page.get_by_test_id("nav-campaigns").click()
        await expect(page.get_by_test_id("campaign-new")).to_have_attribute(
            "title", "Only admins can create campaigns.")

        # The inbox's account menu: take new conversations (the rotation's opt-in).
        await page.get_by_test_id("nav-inbox").click()
        await page.locator("#account-button").click()
        toggle = page.get_by_test_id("take-turns")
        await expect(toggle).to_have_attribute("aria-checked", "false")
        await toggle.click()
        await expect(toggle).to_have_attribute("aria-checked", "true")
    async with inbox.client(agent_key) as nia:
        rotation = (await nia.get("/api/v1/round-robin")).json()
        assert rotation["available"] is True
        assert "nia" in rotation["members"]


async def test_an_admin_switches_round_robin_and_manages_keys(inbox: RunningInbox) -> None:
    async with browser_page() as page:
        await page.goto(await inbox.sign_in_url())
        await expect(page.locator("#live")).to_have_attribute("data-state", "live")
        await page.get_by_test_id("nav-team").click()

        # Round-robin: the admin's switch.
        switch = page.get_by_test_id("rotation-switch")
        await expect(switch).not_to_be_checked()
        await switch.check()
        await expect(page.locator(".toast").last).to_contain_text("Round-robin is on")

        # A service key, shown once.
        keys = page.get_by_test_id("keys-section")
        await expect(keys.get_by_test_id("key-row").filter(has_text="ana")).to_have_count(1)
        await page.get_by_test_id("key-name").fill("CRM sync")
        await page.get_by_test_id("key-create").click()
        secret_field = page.get_by_test_id("key-secret")
        await expect(secret_field).to_be_visible()
        secret = await secret_field.input_value()
        assert secret.startswith("wai_")
        row = keys.get_by_test_id("key-row").filter(has_text="CRM sync")
        await expect(row).to_contain_text(f"{secret[:8]}…")
        await expect(row).to_contain_text("Service")
        await snap(page, "89-team-keys-section")

        async with inbox.client(secret) as crm:
            assert (await crm.get("/api/v1/me")).status_code == 200
            # Revoked from the page: refused at its next request.
            await row.get_by_test_id("key-revoke").click()
            await page.get_by_role("button", name="Revoke key").click()
            await expect(row).to_have_count(0)
            refused = await crm.get("/api/v1/me")
            assert refused.status_code == 401
    async with httpx.AsyncClient(base_url=inbox.base_url,
                                 headers={"Authorization": f"Bearer {inbox.api_key}"}) as admin:
        assert (await admin.get("/api/v1/round-robin")).json()["enabled"] is True
