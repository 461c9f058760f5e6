"""The HTTP webhook poster signs the raw body as Meta does (faked with httpx.MockTransport)."""

from __future__ import annotations

import httpx
import pytest

from sandbox.adapters.webhook_poster import HttpWebhookPoster
from sandbox.dispatcher import WebhookUnreachable
from services.webhook_ingest.signature import is_valid

URL = "http://ingest.test/webhook"


class TestHttpWebhookPoster:
    async def test_posts_the_body_signed_with_the_app_secret(self) -> None:
        seen: list[httpx.Request] = []

        def answer(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(200, json={"status": "ok"})

        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            poster = HttpWebhookPoster(client, URL, b"app-secret")
            assert await poster.post(b'{"object":"whatsapp_business_account"}') == 200
        (request,) = seen
        assert (request.method, str(request.url)) == ("POST", URL)
        assert request.content == b'{"object":"whatsapp_business_account"}'
        assert request.headers["content-type"] == "application/json"
        assert is_valid(request.content, request.headers["x-hub-signature-256"],
                        [b"app-secret"])

    async def test_returns_a_refusal_as_its_status(self) -> None:
        transport = httpx.MockTransport(lambda request: httpx.Response(401))
        async with httpx.AsyncClient(transport=transport) as client:
            assert await HttpWebhookPoster(client, URL, b"s").post(b"{}") == 401

    async def test_a_connection_failure_is_unreachable(self) -> None:
        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
            with pytest.raises(WebhookUnreachable):
                await HttpWebhookPoster(client, URL, b"s").post(b"{}")
