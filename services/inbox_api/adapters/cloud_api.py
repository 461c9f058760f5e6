"""The Cloud API's media endpoints, with the channel's access token.

- Download (the media proxy, for media the archive does not hold): shared/cloud_media.py's
  ``GET {base}/{media_id}`` for a fresh URL, then its bytes. Meta's media URLs expire after 5
  minutes, so nothing is cached. Its errors become ``NotFound`` (WhatsApp no longer has it),
  ``UpstreamRefused`` (502: e.g. a refused token) or ``Unavailable`` (503).
- Upload: ``POST {base}/{phone_number_id}/media``, multipart ``messaging_product=whatsapp``,
  ``type`` (the MIME type) and ``file``; Meta answers ``{"id": ...}``, kept 30 days. Meta's
  error envelope becomes ``UpstreamRefused`` (502) with Meta's message, or ``Unavailable`` (503)
  when Meta's code says retry (rate limits, overload: shared/cloud_errors.py); an unreachable
  API is ``Unavailable`` too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from services.inbox_api.conversations.ports import MediaDownload, MediaFile
from services.inbox_api.errors import NotFound, Unavailable, UpstreamRefused
from shared.channels import Channel
from shared.cloud_errors import Handling, rule_for
from shared.cloud_media import CloudMediaClient, MediaGone, MediaRefused, MediaUnavailable


class CloudApiMedia:
    """Streams media from the Cloud API (or the sandbox), and uploads media to it, through one
    shared httpx client."""

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._media = CloudMediaClient(http, base_url)

    @asynccontextmanager
    async def download(self, channel: Channel, media_id: str) -> AsyncIterator[MediaDownload]:
        try:
            async with self._media.open(channel, media_id) as stream:
                yield MediaDownload(mime_type=stream.mime_type, length=stream.content_length,
                                    body=stream.body)
        except MediaGone:
            raise NotFound("No such media (or it expired at WhatsApp).",
                           code="media_not_found") from None
        except MediaRefused as exc:
            raise UpstreamRefused(f"WhatsApp refused the media download: {exc}.",
                                  code="media_refused", meta_code=exc.meta_code) from None
        except MediaUnavailable as exc:
            raise Unavailable(f"The media could not be fetched from WhatsApp: {exc}.",
                              code="media_unavailable") from None

    async def upload(self, channel: Channel, file: MediaFile) -> str:
        headers = {"Authorization": f"Bearer {channel.access_token.get_secret_value()}"}
        try:
            response = await self._http.post(
                f"{self._base}/{channel.phone_number_id}/media", headers=headers,
                data={"messaging_product": "whatsapp", "type": file.mime_type},
                files={"file": (file.filename, file.content, file.mime_type)})
        except httpx.HTTPError as exc:
            raise Unavailable("The Cloud API could not be reached to upload the file; try "
                              "again.", code="media_upload_unavailable") from exc
        try:
            answer = response.json()
        except ValueError:
            answer = None
        media_id = answer.get("id") if isinstance(answer, dict) else None
        if response.is_success and isinstance(media_id, str | int) and str(media_id):
            return str(media_id)
        raise _upload_error(response.status_code, answer)


def _upload_error(status: int, answer: object) -> Unavailable | UpstreamRefused:
    """Meta's error envelope (``{"error": {"message", "code", "error_data": {"details"}}}``) as
    the API's error, with Meta's words; anything else by its HTTP status."""
    error = answer.get("error") if isinstance(answer, dict) else None
    error = error if isinstance(error, dict) else {}
    code = error.get("code") if isinstance(error.get("code"), int) else None
    message = error.get("message") if isinstance(error.get("message"), str) else None
    data = error.get("error_data")
    details = data.get("details") if isinstance(data, dict) else None
    said = message or ""
    if isinstance(details, str) and details and details != message:
        said = f"{said} ({details})" if said else details
    detail = (f"WhatsApp refused the upload: {said}" if said else
              f"The Cloud API answered {status} to the upload, without an explanation.")
    if rule_for(code, status).handling is not Handling.FAIL:
        return Unavailable(f"{detail} Try again shortly.", code="media_upload_unavailable",
                           meta_code=code)
    return UpstreamRefused(detail, code="media_upload_failed", meta_code=code)
