"""The Cloud API media proxy: ``GET {base}/{media_id}`` for a fresh URL, then its bytes, both
with the channel's access token. Meta's media URLs expire after 5 minutes, so nothing is cached.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from services.inbox_api.conversations.ports import MediaDownload
from services.inbox_api.errors import NotFound, Unavailable
from shared.channels import Channel


class CloudApiMedia:
    """Streams media from the Cloud API (or the sandbox) through one shared httpx client."""

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")

    @asynccontextmanager
    async def download(self, channel: Channel, media_id: str) -> AsyncIterator[MediaDownload]:
        headers = {"Authorization": f"Bearer {channel.access_token.get_secret_value()}"}
        try:
            meta = await self._http.get(f"{self._base}/{media_id}", headers=headers)
            if meta.status_code in (400, 404):
                raise NotFound("No such media (or it expired at WhatsApp).",
                               code="media_not_found")
            if meta.status_code != 200:
                raise Unavailable(f"The Cloud API answered {meta.status_code} for the media.",
                                  code="media_unavailable")
            info = meta.json()
            url = info.get("url") if isinstance(info, dict) else None
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise Unavailable("The Cloud API gave no download URL.", code="media_unavailable")
            async with self._http.stream("GET", url, headers=headers) as response:
                if response.status_code != 200:
                    raise Unavailable(f"The media download answered {response.status_code}.",
                                      code="media_unavailable")
                length = response.headers.get("content-length")
                yield MediaDownload(
                    mime_type=str(info.get("mime_type") or response.headers.get(
                        "content-type") or "application/octet-stream"),
                    length=int(length) if length and length.isdigit() else None,
                    body=response.aiter_bytes())
        except httpx.HTTPError as exc:
            raise Unavailable("The Cloud API could not be reached for the media.",
                              code="media_unavailable") from exc
