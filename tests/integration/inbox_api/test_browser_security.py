"""Issue 17's web security on the whole running product: a single-use sign-in link in a real
browser (Debian's Chromium), which works once and is refused, readably, the second time; the
browser's security headers and the operators' endpoints on the real server. Every browser test
also fails on a Content-Security-Policy violation (``browser_page``). Screenshot 95 lands in
artifacts/browser/.
"""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import expect

from services.inbox_api.admin import sign_in_link
from tests.integration.inbox_api.stack import RunningInbox
from tests.integration.inbox_api.test_browser import CHROMIUM, browser_page, snap

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")


@needs_chromium
async def test_a_sign_in_link_works_once(inbox: RunningInbox) -> None:
    link = await inbox.sign_in_url()
    async with browser_page() as page:
        await page.goto(link)
        await expect(page.locator("#live")).to_have_attribute("data-state", "live")
        # The token leaves the address bar (and history) at once.
        assert "signin=" not in page.url
    async with browser_page() as page:
        await page.goto(link)
        error = page.get_by_test_id("signin-error")
        await expect(error).to_contain_text("already used or has expired")
        await expect(page.get_by_test_id("signin-submit")).to_be_visible()
        await snap(page, "95-sign-in-link-used")


async def test_the_link_is_single_use_on_the_real_database(inbox: RunningInbox) -> None:
    # As the command line (and ./dev run's demo) makes it.
    link = await sign_in_link(inbox.db, inbox.api_key, base_url=inbox.base_url)
    assert link.startswith(f"{inbox.base_url}/#signin=")
    token = link.split("#signin=", 1)[1]
    async with httpx.AsyncClient(base_url=inbox.base_url) as browser:
        first = await browser.post("/api/v1/session", json={"link_token": token})
        assert first.status_code == 204
        assert (await browser.get("/api/v1/me")).json()["agent_id"] == "ana"
    async with httpx.AsyncClient(base_url=inbox.base_url) as other:
        second = await other.post("/api/v1/session", json={"link_token": token})
    assert second.status_code == 401
    assert second.json()["error"] == "sign_in_link_invalid"
    assert await inbox.db["sign_in_links"].count_documents({}) == 0


async def test_headers_on_the_page_files_and_api_and_no_metrics_on_the_api_port(
        inbox: RunningInbox) -> None:
    async with inbox.client() as http:
        for path in ("/", "/app.js", "/favicon.svg", "/api/v1/me"):
            response = await http.get(path)
            assert response.status_code == 200, path
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "no-referrer"
        assert (await http.get("/metrics")).status_code == 404
        assert (await http.get("/readyz")).status_code == 200
