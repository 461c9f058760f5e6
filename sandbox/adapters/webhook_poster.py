"""Posting signed webhooks over HTTP, as Meta does: raw JSON body, ``X-Hub-Signature-256``."""

from __future__ import annotations

import httpx

from sandbox.dispatcher import WebhookUnreachable
from sandbox.webhooks import SIGNATURE_HEADER, sign

USER_AGENT = "facebookexternalua"


class HttpWebhookPoster:
    """The :class:`sandbox.dispatcher.WebhookTransport` for a real URL."""

    def __init__(self, client: httpx.AsyncClient, url: str, secret: bytes) -> None:
        self._client = client
        self.url = url
        self._secret = secret

    async def post(self, body: bytes) -> int:
        headers = {"content-type": "application/json", "user-agent": USER_AGENT,
                   SIGNATURE_HEADER: sign(body, self._secret)}
        try:
            response = await self._client.post(self.url, content=body, headers=headers)
        except httpx.TransportError as exc:
            raise WebhookUnreachable(f"{type(exc).__name__}: {exc}") from exc
        return response.status_code


def make_client(timeout_seconds: float, concurrency: int) -> httpx.AsyncClient:
    """One pooled client for every webhook POST (connections kept alive between batches)."""
    return httpx.AsyncClient(
        timeout=timeout_seconds,
        limits=httpx.Limits(max_connections=concurrency + 2,
                            max_keepalive_connections=concurrency + 2),
    )
