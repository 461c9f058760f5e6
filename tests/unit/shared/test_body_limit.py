"""Bodies limited while they stream in: a refused body is never read whole."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from shared.body_limit import BodyLimit, BodyLimitMiddleware, format_limit

LIMIT = 1024 * 1024
CHUNK = 64 * 1024
TOTAL = 100 * 1024 * 1024


class CountingBody:
    """A streaming upload that counts how many bytes the server pulled from it."""

    def __init__(self, total: int = TOTAL) -> None:
        self.total = total
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.pulled < self.total:
            self.pulled += CHUNK
            yield b"x" * CHUNK


async def read_all(request: Request) -> JSONResponse:
    return JSONResponse({"read": len(await request.body())})


def client() -> httpx.AsyncClient:
    app = Starlette(routes=[Route("/upload", read_all, methods=["POST"]),
                            Route("/other", read_all, methods=["POST"])])
    limited = BodyLimitMiddleware(app, [BodyLimit("POST", "/upload", LIMIT)])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=limited), base_url="http://t")


async def test_a_streamed_oversized_body_is_refused_after_about_the_limit() -> None:
    body = CountingBody()
    async with client() as http:
        response = await http.post("/upload", content=body)
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert "1 MB" in response.json()["detail"]
    # Memory stays flat: the server stopped pulling one chunk past the limit, not at 100 MB.
    assert body.pulled <= LIMIT + CHUNK
    assert body.pulled < TOTAL // 50


async def test_an_honest_oversized_content_length_is_refused_before_reading() -> None:
    async with client() as http:
        response = await http.post("/upload", content=b"x" * (LIMIT + 1))
    assert response.status_code == 413
    assert f"{LIMIT + 1} bytes" in response.json()["detail"]


async def test_an_honest_declared_length_is_refused_without_pulling_a_byte() -> None:
    body = CountingBody()
    async with client() as http:
        response = await http.post("/upload", content=body,
                                   headers={"content-length": str(TOTAL)})
    assert response.status_code == 413
    assert body.pulled == 0


async def test_a_body_at_the_limit_is_read_whole() -> None:
    async with client() as http:
        response = await http.post("/upload", content=CountingBody(LIMIT))
    assert response.json() == {"read": LIMIT}


async def test_other_routes_are_not_limited() -> None:
    async with client() as http:
        response = await http.post("/other", content=CountingBody(2 * LIMIT))
    assert response.json() == {"read": 2 * LIMIT}


async def test_a_malformed_content_length_is_400() -> None:
    async with client() as http:
        response = await http.post("/upload", content=b"{}", headers={"content-length": "x2"})
    assert response.status_code == 400


@pytest.mark.parametrize(("limit", "text"), [
    (20 * 1024 * 1024, "20 MB"), (64 * 1024, "64 KB"), (1000, "1000 bytes")])
def test_the_limit_is_named_readably(limit: int, text: str) -> None:
    assert format_limit(limit) == text
