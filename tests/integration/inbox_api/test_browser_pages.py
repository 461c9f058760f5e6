"""The templates and campaigns pages in a real browser (Debian's Chromium) on the whole product.

A reload keeps the session; a template created in the page is approved by the sandbox's review
webhook and the page shows it; a campaign started from a CSV reports its bad row and its report
fills in as the sandbox's status webhooks arrive. Screenshots land in artifacts/browser/.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import FilePayload, Page, expect
from pydantic import SecretStr

from shared.channels import CHANNELS_COLLECTION, Channel
from shared.templates import TEMPLATES_COLLECTION, template_doc_id
from tests.integration.inbox_api.stack import RunningInbox
from tests.integration.inbox_api.test_browser import CHROMIUM, PIPELINE_MS, browser_page, snap

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="Debian's Chromium is not installed at /usr/bin/chromium "
                              "(apt-get install chromium)"),
    pytest.mark.timeout(300),
]

PHONE = {"width": 390, "height": 844}


async def sign_in(page: Page, inbox: RunningInbox, path: str = "/") -> None:
    await page.goto(await inbox.sign_in_url())
    await expect(page.locator("#live")).to_have_attribute("data-state", "live")
    if path != "/":
        await page.goto(f"{inbox.base_url}/{path}")


async def test_a_reload_keeps_the_session_and_the_section(inbox: RunningInbox) -> None:
    await inbox.customer_says("Hello after a reload?", wa_id="16505550151", name="Rita Reload")
    async with browser_page() as page:
        await page.goto(inbox.base_url + "/")
        # People sign in with email and password; an API key is the other way.
        await page.get_by_test_id("signin-mode").click()
        await page.get_by_test_id("signin-key").fill(inbox.api_key)
        await page.get_by_test_id("signin-submit").click()
        item = page.get_by_test_id("conversation-item").filter(has_text="Rita Reload")
        await expect(item).to_be_visible()

        await page.reload()
        await expect(page.locator("#signin")).to_be_hidden()
        await expect(item).to_be_visible()
        await expect(page.locator("#live")).to_have_attribute("data-state", "live")

        # The section lives in the address bar, so a reload lands on it again.
        await page.get_by_test_id("nav-campaigns").click()
        await expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
        await page.reload()
        await expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
        await expect(page.get_by_test_id("nav-campaigns")).to_have_attribute("aria-current", "page")
        await snap(page, "20-reload-campaigns")


async def test_a_template_created_in_the_page_becomes_approved(inbox: RunningInbox) -> None:
    async with browser_page() as page:
        await sign_in(page, inbox)
        await page.get_by_test_id("nav-templates").click()
        rows = page.get_by_test_id("template-row")
        await expect(rows.filter(has_text="order_update")).to_be_visible()
        await snap(page, "21-templates")

        await page.get_by_test_id("template-new").click()
        await page.get_by_test_id("tpl-name").fill("Welcome Back")
        await expect(page.get_by_test_id("tpl-name")).to_have_value("welcome_back")
        await page.get_by_test_id("tpl-body").fill("Welcome back, {{1}}! Your *table* is ready.")
        # A server-side rule: the example is missing, and the error lands on its field.
        await page.get_by_test_id("tpl-submit").click()
        example = page.get_by_test_id("tpl-example-1")
        await expect(example).to_have_attribute("aria-invalid", "true")
        await snap(page, "22-template-field-error")

        await example.fill("Ana")
        preview = page.get_by_test_id("tpl-preview")
        await expect(preview).to_contain_text("Welcome back, Ana! Your table is ready.")
        await expect(preview.locator(".wa-b")).to_have_text("table")
        await page.get_by_test_id("tpl-footer").fill("Acme Bistro")
        await expect(preview).to_contain_text("Acme Bistro")
        await snap(page, "23-template-preview")
        await page.get_by_test_id("tpl-submit").click()

        # The list, then the sandbox's review webhook: the page sees it without a reload.
        row = rows.filter(has_text="welcome_back")
        await expect(row).to_be_visible()
        await expect(row.get_by_test_id("template-status")).to_have_attribute(
            "data-status", "APPROVED", timeout=PIPELINE_MS)
        await snap(page, "24-template-approved")


async def test_a_rejected_template_shows_its_reason_on_a_phone(inbox: RunningInbox) -> None:
    await inbox.sandbox.review_templates(reject=["flash_sale"], reason="PROMOTIONAL")
    async with browser_page(**PHONE) as page:
        await sign_in(page, inbox, "#/templates/new")
        await page.get_by_test_id("tpl-name").fill("flash_sale")
        await page.get_by_test_id("tpl-category-marketing").check(force=True)
        await page.get_by_test_id("tpl-body").fill("Everything is 50% off today only.")
        await snap(page, "25-template-form-phone")
        await page.get_by_test_id("tpl-submit").click()
        row = page.get_by_test_id("template-row").filter(has_text="flash_sale")
        await expect(row.get_by_test_id("template-status")).to_have_attribute(
            "data-status", "REJECTED", timeout=PIPELINE_MS)
        await expect(row.get_by_test_id("template-reason")).to_contain_text("Promotional")
        await snap(page, "26-template-rejected-phone")

        # Edit it (the create form, prefilled) and submit again: the sandbox reviews it anew.
        await inbox.sandbox.review_templates(reject=[])
        await row.get_by_test_id("template-edit").click()
        await expect(page.get_by_role("heading", name="Edit flash_sale")).to_be_visible()
        await expect(page.get_by_test_id("tpl-name")).to_have_value("flash_sale")
        await expect(page.get_by_test_id("tpl-name")).to_be_disabled()
        await expect(page.get_by_test_id("tpl-category-marketing")).to_be_checked()
        body = page.get_by_test_id("tpl-body")
        await expect(body).to_have_value("Everything is 50% off today only.")
        await body.fill("Hi {{1}}, this weekend everything is 50% off.")
        await page.get_by_test_id("tpl-example-1").fill("Ana")
        await expect(page.get_by_test_id("tpl-preview")).to_contain_text("Hi Ana, this weekend")
        await snap(page, "26b-template-edit-phone")
        await page.get_by_test_id("tpl-submit").click()
        await expect(row).to_contain_text("this weekend everything is 50% off")
        await expect(row.get_by_test_id("template-status")).to_have_attribute(
            "data-status", "APPROVED", timeout=PIPELINE_MS)
        await expect(row.get_by_test_id("template-reason")).to_have_count(0)
        await snap(page, "26c-template-approved-after-edit-phone")


CSV = (
    "phone,1,2\n"
    "+1 650 555 0161,Ana,A-1001\n"
    "+1 650 555 0162,Bo,A-1002\n"
    "not a number,Cy,A-1003\n"
    "+1 650 555 0164,Di,A-1004\n"
)


async def test_a_campaign_from_a_csv_reports_the_bad_row_and_fills_its_report(
        inbox: RunningInbox) -> None:
    async with browser_page() as page:
        await sign_in(page, inbox)
        await page.get_by_test_id("nav-campaigns").click()
        await page.get_by_test_id("campaign-new").click()
        await page.get_by_test_id("campaign-name").fill("December follow-up")
        await page.get_by_test_id("campaign-template").select_option(value="order_update:en_US")
        await page.get_by_test_id("campaign-csv").set_input_files(
            files=FilePayload(name="audience.csv", mimeType="text/csv", buffer=CSV.encode()))
        await expect(page.get_by_test_id("campaign-csv-name")).to_have_text("audience.csv")
        await snap(page, "27-campaign-form")
        await page.get_by_test_id("campaign-create").click()

        # The draft's page: three rows went in, the fourth data row (row 4) is reported.
        await expect(page.get_by_test_id("campaign-title")).to_have_text("December follow-up")
        await expect(page.get_by_test_id("audience-accepted")).to_contain_text("3 added")
        await expect(page.get_by_test_id("audience-rejected")).to_contain_text("1 rejected")
        bad = page.get_by_test_id("audience-error")
        await expect(bad).to_have_count(1)
        await expect(bad).to_contain_text("4")
        await expect(bad).to_contain_text("phone")
        await expect(page.get_by_test_id("count-recipients")).to_have_text("3")
        await snap(page, "28-campaign-draft")
        # The refused row is kept with the campaign: a reload lists it again.
        await page.reload()
        await expect(page.get_by_test_id("campaign-title")).to_have_text("December follow-up")
        await expect(page.get_by_test_id("audience-rejected")).to_contain_text("1 rejected")
        await expect(bad).to_have_count(1)
        await expect(bad).to_contain_text("phone")
        await expect(bad).to_contain_text("not a number")

        await page.get_by_test_id("campaign-start").click()
        await expect(page.get_by_test_id("campaign-state")).to_have_attribute(
            "data-state", re.compile(r"^(running|completed)$"))
        # Polling brings the counters and the report as the sandbox's webhooks come back.
        await expect(page.get_by_test_id("campaign-state")).to_have_attribute(
            "data-state", "completed", timeout=PIPELINE_MS)
        await expect(page.get_by_test_id("count-released")).to_have_text("3")
        await expect(page.get_by_test_id("total-sent")).to_have_text("3", timeout=PIPELINE_MS)
        await expect(page.get_by_test_id("total-delivered")).to_have_text("3",
                                                                          timeout=PIPELINE_MS)
        await expect(page.get_by_test_id("total-read")).to_have_text("3", timeout=PIPELINE_MS)
        await expect(page.get_by_test_id("report-row")).to_have_count(3)
        await expect(page.get_by_test_id("report-csv")).to_have_attribute(
            "href", re.compile(r"/report\.csv$"))
        await snap(page, "29-campaign-report")

        await page.get_by_test_id("nav-campaigns").click()
        row = page.get_by_test_id("campaign-row").filter(has_text="December follow-up")
        await expect(row.get_by_test_id("campaign-state")).to_have_attribute(
            "data-state", "completed")
        await snap(page, "30-campaigns")

    async with browser_page(**PHONE) as page:
        await sign_in(page, inbox, "#/campaigns")
        await page.get_by_test_id("campaign-row").first.click()
        await expect(page.get_by_test_id("total-read")).to_have_text("3")
        await snap(page, "31-campaign-report-phone")


async def test_forms_offer_only_the_templates_of_the_chosen_numbers_account(
        inbox: RunningInbox) -> None:
    # A second number of the tenant, on another WhatsApp Business Account with its own template.
    second = Channel(phone_number_id="100000000000073", display_phone_number="15550007373",
                     waba_id="200000000000073", tenant_id="acme",
                     access_token=SecretStr("acme-second-token"))
    await inbox.db[CHANNELS_COLLECTION].replace_one(
        {"_id": second.phone_number_id}, second.to_document(), upsert=True)
    await inbox.db[TEMPLATES_COLLECTION].replace_one(
        {"_id": template_doc_id(second.waba_id, "second_hello", "en_US")},
        {"tenant_id": "acme", "waba_id": second.waba_id, "template_id": "990001",
         "name": "second_hello", "language": "en_US", "status": "APPROVED",
         "category": "UTILITY", "components": [{"type": "BODY", "text": "Hello from us!"}]},
        upsert=True)
    async with browser_page() as page:
        await sign_in(page, inbox, "#/campaigns/new")
        options = page.get_by_test_id("campaign-template").locator("option")
        await expect(options.filter(has_text="order_update")).to_have_count(1)
        await expect(options.filter(has_text="second_hello")).to_have_count(0)
        await page.get_by_test_id("campaign-from").select_option(value=second.phone_number_id)
        await expect(options.filter(has_text="second_hello")).to_have_count(1)
        await expect(options.filter(has_text="order_update")).to_have_count(0)
        await snap(page, "32-campaign-form-second-account")

        # The new-conversation dialog follows its "From" number the same way.
        await page.goto(f"{inbox.base_url}/#/")
        await page.get_by_test_id("new-conversation").click()
        choices = page.get_by_test_id("new-template").locator("option")
        await expect(choices.filter(has_text="order_update")).to_have_count(1)
        await expect(choices.filter(has_text="second_hello")).to_have_count(0)
        await page.get_by_test_id("new-channel").select_option(value=second.phone_number_id)
        await expect(choices.filter(has_text="second_hello")).to_have_count(1)
        await expect(choices.filter(has_text="order_update")).to_have_count(0)

    async with inbox.client() as http:
        me = (await http.get("/api/v1/me")).json()
    assert [(c["phone_number_id"], c["waba_id"]) for c in me["channels"]] == [
        (inbox.channel.phone_number_id, inbox.channel.waba_id),
        (second.phone_number_id, second.waba_id)]
    assert "acme-second-token" not in str(me)
