"""The campaign upload and the attachment upload are refused (413) while they stream in: an
oversized body is never read whole, whatever it declares."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from services.inbox_api.accounts.credentials import digest
from services.inbox_api.campaigns.routes import UPLOAD_LIMIT
from services.inbox_api.conversations.routes import ATTACHMENT_LIMIT
from services.inbox_api.deps import get_campaigns
from services.inbox_api.main import create_app
from services.inbox_api.settings import InboxApiSettings
from tests.unit.inbox_api.fakes import ACME_KEY, Wiring, WithState

OPEN = "1001:16505550123"
CHUNK = 256 * 1024


class CountingBody:
    """A streaming upload (no Content-Length) counting the bytes the server pulled from it."""

    def __init__(self, total: int, first: bytes = b"") -> None:
        self.total = total
        self.first = first
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.first:
            self.pulled += len(self.first)
            yield self.first
        while self.pulled < self.total:
            self.pulled += CHUNK
            yield b"7" * CHUNK


async def test_a_streamed_csv_over_the_limit_is_413_before_it_is_read_whole(
        wiring: Wiring) -> None:
    wiring.repository.keys[digest(ACME_KEY)]["role"] = "admin"
    app = create_app(InboxApiSettings())
    # The route fails on the body before it uses the campaigns: no service is needed.
    app.dependency_overrides[get_campaigns] = lambda: None
    body = CountingBody(10 * UPLOAD_LIMIT, first=b"phone\n")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=WithState(app, wiring.state)),
                                 base_url="http://inbox",
                                 headers={"Authorization": f"Bearer {ACME_KEY}"}) as http:
        response = await http.post("/api/v1/campaigns/c1/recipients", content=body,
                                   headers={"content-type": "text/csv"})
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert "20 MB" in response.json()["detail"]
    assert body.pulled <= UPLOAD_LIMIT + CHUNK + len(b"phone\n")  # memory stays flat


async def test_an_honest_oversized_csv_is_413_before_any_read(
        http: httpx.AsyncClient) -> None:
    response = await http.post("/api/v1/campaigns/c1/recipients",
                               content=b"p" * (UPLOAD_LIMIT + 1),
                               headers={"content-type": "text/csv"})
    assert response.status_code == 413
    assert "20 MB" in response.json()["detail"]
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_a_streamed_attachment_over_the_limit_is_413_before_it_is_read_whole(
        http: httpx.AsyncClient) -> None:
    head = (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n"
            b"Content-Type: application/pdf\r\n\r\n")
    body = CountingBody(5 * ATTACHMENT_LIMIT, first=head)
    response = await http.post(f"/api/v1/conversations/{OPEN}/attachments", content=body,
                               headers={"content-type": "multipart/form-data; boundary=b"})
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert body.pulled <= ATTACHMENT_LIMIT + CHUNK + len(head)
