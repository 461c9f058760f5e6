"""The Cloud API media download (shared/cloud_media.py) on httpx.MockTransport: Meta's two
steps with the number's token, a fresh URL after an expired one, and each failure's kind."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from shared.channels import Channel
from shared.cloud_media import (
    CloudMediaClient,
    MediaFetchError,
    MediaGone,
    MediaRefused,
    MediaUnavailable,
)

BASE = "https://graph.example/v25.0"
URL = "https://lookaside.example/whatsapp_business/attachments/?mid=555&ext=1&hash=x"
ACME = Channel(phone_number_id="1001", tenant_id="acme", waba_id="2001",
               access_token=SecretStr("acme-token"))
BYTES = b"\x89PNG" + bytes(300)
Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler) -> CloudMediaClient:
    return CloudMediaClient(httpx.AsyncClient(transport=httpx.MockTransport(handler)),
                            BASE + "/")


def info(**extra: Any) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "url": URL, "mime_type": "image/jpeg",
            "sha256": "abc=", "file_size": len(BYTES), "id": "555", **extra}


def envelope(code: int, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "OAuthException", "code": code}}


async def fetch(handler: Handler) -> tuple[bytes, Any]:
    async with client(handler).open(ACME, "555") as stream:
        data = b"".join([chunk async for chunk in stream.body])
        return data, stream


class TestDownload:
    async def test_metas_two_steps_with_the_numbers_token(self) -> None:
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            if request.url.host == "graph.example":
                return httpx.Response(200, json=info())
            return httpx.Response(200, content=BYTES, headers={"content-type": "image/jpeg"})

        data, stream = await fetch(handler)
        assert data == BYTES
        assert (stream.mime_type, stream.file_size, stream.sha256) == (
            "image/jpeg", len(BYTES), "abc=")
        assert (stream.content_type, stream.content_length) == ("image/jpeg", len(BYTES))
        assert [str(r.url) for r in seen] == [f"{BASE}/555?phone_number_id=1001", URL]
        assert {r.headers["authorization"] for r in seen} == {"Bearer acme-token"}

    async def test_an_expired_url_is_fetched_again_once(self) -> None:
        downloads: list[int] = []

        def handler(request: httpx.Request) -> httpx.Response:
            if request.url.host == "graph.example":
                return httpx.Response(200, json=info())
            downloads.append(1)
            if len(downloads) == 1:
                return httpx.Response(404, json=envelope(100, "URL expired"))
            return httpx.Response(200, content=BYTES)

        data, _ = await fetch(handler)
        assert data == BYTES
        assert len(downloads) == 2


class TestFailures:
    @pytest.mark.parametrize(("status", "body", "kind", "said"), [
        (400, envelope(100, "Unsupported get request"), MediaGone, "no longer has"),
        (404, {}, MediaGone, "no longer has"),
        (401, envelope(190, "Error validating access token"), MediaRefused,
         "access token was refused: Error validating access token"),
        (403, envelope(10, "Permission denied"), MediaRefused,
         "refused the media's metadata (403): Permission denied"),
        (503, envelope(131016, "Service unavailable"), MediaUnavailable, "answered 503"),
        (500, "oops", MediaUnavailable, "answered 500"),
        (429, envelope(80007, "Rate limit"), MediaUnavailable, "answered 429"),
        (400, envelope(131009, "Parameter value is not valid"), MediaRefused,
         "refused the media's metadata (400)"),
    ])
    async def test_metas_answer_is_the_failures_kind(self, status: int, body: Any,
                                                     kind: type[MediaFetchError],
                                                     said: str) -> None:
        def handler(_: httpx.Request) -> httpx.Response:
            if isinstance(body, str):
                return httpx.Response(status, text=body)
            return httpx.Response(status, json=body)

        with pytest.raises(kind, match=re.escape(said)):
            await fetch(handler)

    async def test_a_refusal_keeps_metas_code(self) -> None:
        with pytest.raises(MediaRefused) as caught:
            await fetch(lambda _: httpx.Response(401, json=envelope(190, "expired")))
        assert caught.value.meta_code == 190

    async def test_an_unreachable_api_is_transient(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("refused", request=request)

        with pytest.raises(MediaUnavailable, match="could not be reached"):
            await fetch(handler)

    async def test_an_answer_without_a_url_is_transient(self) -> None:
        with pytest.raises(MediaUnavailable, match="no download URL"):
            await fetch(lambda _: httpx.Response(200, json=info(url=None)))

    async def test_the_download_failing_after_the_metadata(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            if request.url.host == "graph.example":
                return httpx.Response(200, json=info())
            return httpx.Response(502, text="bad gateway")

        with pytest.raises(MediaUnavailable, match="answered 502 to the media download"):
            await fetch(handler)
