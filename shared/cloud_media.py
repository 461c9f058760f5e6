"""Downloading a media object from the Cloud API, as Meta documents it, written once.

1. ``GET {base}/{media_id}`` with the number's bearer token answers ``{url, mime_type, sha256,
   file_size, id}``;
2. ``GET <url>`` with the same bearer token streams the bytes. The URL expires after 5 minutes;
   on 404 a fresh one is fetched once.

inbox_api's media proxy and conversation_store's media archiver both use it; each maps the
errors below to its own (an HTTP status; a retry or a failure on the archive record).

Errors (all :class:`MediaFetchError`):

- :class:`MediaGone`: Meta does not know the id (expired, deleted, or never this account's);
- :class:`MediaRefused`: Meta refused for good (a bad token, a permission), with its code;
- :class:`MediaUnavailable`: worth retrying: unreachable, a timeout, 5xx, 429, a code Meta says
  to retry on (shared/cloud_errors.py), or an answer that is not what Meta documents.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from shared.channels import Channel
from shared.cloud_errors import Handling, rule_for


class MediaFetchError(Exception):
    """A media could not be fetched; ``str()`` says why, in words an agent can read."""


class MediaGone(MediaFetchError):
    """WhatsApp no longer has the media (or never had it for this number)."""


class MediaRefused(MediaFetchError):
    """The Cloud API refused the request for good (a retry gives the same answer)."""

    def __init__(self, message: str, meta_code: int | None = None) -> None:
        super().__init__(message)
        self.meta_code = meta_code


class MediaUnavailable(MediaFetchError):
    """A transient failure: the same request may succeed later."""


@dataclass(frozen=True, slots=True)
class MediaStream:
    """An open download: what Meta said about the media, and the body as it streams."""

    media_id: str
    # Meta's metadata (``GET /{media_id}``); ``file_size`` as Meta announced it.
    mime_type: str
    file_size: int | None
    sha256: str | None
    # The download response's own headers.
    content_type: str | None
    content_length: int | None
    body: AsyncIterator[bytes]


class CloudMediaClient:
    """Fetches media with a channel's access token through one shared httpx client."""

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")

    @asynccontextmanager
    async def open(self, channel: Channel, media_id: str) -> AsyncIterator[MediaStream]:
        """The media's bytes, streamed while the context is open."""
        headers = {"Authorization": f"Bearer {channel.access_token.get_secret_value()}"}
        try:
            for fresh_url in (True, False):
                info = await self._info(media_id, channel, headers)
                async with self._http.stream("GET", info["url"], headers=headers) as response:
                    if response.status_code == 404 and fresh_url:
                        continue  # the URL expired between the two calls: ask for a new one
                    if response.status_code != 200:
                        await response.aread()
                        raise _error(response, "the media download")
                    yield MediaStream(
                        media_id=media_id,
                        mime_type=str(info.get("mime_type") or response.headers.get(
                            "content-type") or "application/octet-stream"),
                        file_size=_int(info.get("file_size")),
                        sha256=info.get("sha256") if isinstance(info.get("sha256"), str)
                        else None,
                        content_type=response.headers.get("content-type"),
                        content_length=_int(response.headers.get("content-length")),
                        body=response.aiter_bytes())
                    return
        except httpx.HTTPError as exc:
            raise MediaUnavailable(
                f"the Cloud API could not be reached ({type(exc).__name__})") from exc

    async def _info(self, media_id: str, channel: Channel,
                    headers: dict[str, str]) -> dict[str, Any]:
        response = await self._http.get(f"{self._base}/{media_id}", headers=headers,
                                        params={"phone_number_id": channel.phone_number_id})
        if response.status_code != 200:
            raise _error(response, "the media's metadata")
        try:
            info = response.json()
        except ValueError:
            info = None
        url = info.get("url") if isinstance(info, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise MediaUnavailable("the Cloud API gave no download URL")
        assert isinstance(info, dict)
        return info


def _error(response: httpx.Response, what: str) -> MediaFetchError:
    """Meta's answer as one of the errors above."""
    try:
        answer = response.json()
    except ValueError:
        answer = None
    error = answer.get("error") if isinstance(answer, dict) else None
    error = error if isinstance(error, dict) else {}
    code = error.get("code") if isinstance(error.get("code"), int) else None
    message = error.get("message") if isinstance(error.get("message"), str) else None
    said = f": {message}" if message else ""
    status = response.status_code
    if status in (400, 404) and code in (None, 100):
        return MediaGone("WhatsApp no longer has this media (it expired or was deleted)")
    rule = rule_for(code, status)
    if rule.handling is not Handling.FAIL:
        return MediaUnavailable(f"the Cloud API answered {status} to {what}{said}")
    if code in (0, 190) or status == 401:
        return MediaRefused(f"the number's access token was refused{said}", code)
    return MediaRefused(f"the Cloud API refused {what} ({status}){said}", code)


def _int(value: object) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
