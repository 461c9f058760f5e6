"""Media as the Cloud API keeps it: uploaded files and customers' media, their ids, expiry and
short-lived download URLs. No I/O; times are the sandbox's clock, passed in.

- An upload (``POST /{phone_number_id}/media``) is kept for 30 days (Meta: "persist for 30
  days, unless they are deleted earlier"); a customer's media id from a webhook for 7 days.
- ``GET /{media_id}`` gives a download URL valid for 5 minutes (Meta's lookaside URLs expire
  after 5 minutes); the URL serves the bytes to a request carrying a channel's access token.
  The URL is signed (HMAC with a per-process key), so it needs no state and cannot be forged
  or extended.
- A customer's media has no bytes of its own: it is served as a small placeholder (a PNG for
  images and stickers, a line of text otherwise) so a proxy and a browser have something real.
  ``GET /{media_id}`` answers the MIME type and sha256 its webhook announced (as Meta's agree),
  and the placeholder's size; the placeholder's bytes do not hash to that sha256.
- Uploads are checked against Meta's supported types and size limits; the bytes kept in memory
  are bounded (:data:`MAX_STORED_BYTES`), the oldest uploads forgotten first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import zlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sandbox.errors import CloudApiError
from shared.channels import Channel

UPLOAD_TTL = timedelta(days=30)
INBOUND_TTL = timedelta(days=7)
URL_TTL = timedelta(minutes=5)
MAX_STORED_BYTES = 256 * 1024 * 1024
DOWNLOAD_PATH = "/whatsapp_business/attachments/"

_MB = 1024 * 1024
# Meta's supported media types (``type`` of an upload) and their size limits.
SUPPORTED_TYPES: dict[str, tuple[str, int]] = {
    **{t: ("audio", 16 * _MB) for t in ("audio/aac", "audio/amr", "audio/mpeg", "audio/mp4",
                                         "audio/ogg")},
    **{t: ("document", 100 * _MB) for t in (
        "text/plain", "application/pdf", "application/msword", "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation")},
    **{t: ("image", 5 * _MB) for t in ("image/jpeg", "image/png")},
    "image/webp": ("sticker", 500 * 1024),
    **{t: ("video", 16 * _MB) for t in ("video/3gpp", "video/mp4")},
}
MAX_UPLOAD_BYTES = max(limit for _, limit in SUPPORTED_TYPES.values())


@dataclass(frozen=True, slots=True)
class StoredMedia:
    """One media object: an upload (with its bytes) or a customer's media (placeholder)."""

    media_id: str
    phone_number_id: str
    waba_id: str
    mime_type: str
    data: bytes | None  # None: a customer's media, served as a placeholder
    expires_at: datetime
    filename: str | None = None
    announced_sha256: str | None = None  # a customer's media: what the webhook said
    size: int | None = None  # a customer's media: its placeholder padded to this many bytes

    def content(self) -> tuple[bytes, str]:
        """The bytes served, and their MIME type (for a customer's media, the type the webhook
        announced, whatever the placeholder's bytes are)."""
        if self.data is not None:
            return self.data, self.mime_type
        if self.mime_type.startswith("image/"):
            data = placeholder_png(self.media_id)
        else:
            data = f"Sandbox placeholder for media {self.media_id}\n".encode()
        if self.size is not None and self.size > len(data):
            data += bytes(self.size - len(data))  # a PNG ignores what follows its end
        return data, self.mime_type

    def info(self, url: str) -> dict[str, Any]:
        """Meta's answer to ``GET /{media_id}``: for a customer's media, the MIME type and hash
        its webhook announced (a client checks one against the other)."""
        data, mime_type = self.content()
        digest = self.announced_sha256 or base64.b64encode(hashlib.sha256(data).digest()).decode()
        return {"messaging_product": "whatsapp", "url": url, "mime_type": mime_type,
                "sha256": digest, "file_size": len(data), "id": self.media_id}


def media_type(declared: str) -> str:
    """``audio/ogg`` of ``audio/ogg; codecs=opus``."""
    return declared.split(";", 1)[0].strip().lower()


def check_upload(data: bytes, declared_type: str) -> str:
    """The upload's MIME type if Meta would take the file, else its refusal (131053)."""
    mime = media_type(declared_type)
    known = SUPPORTED_TYPES.get(mime)
    if known is None:
        raise CloudApiError(131053, f"Param type {declared_type[:80]!r} is not a supported media "
                            f"type; use one of {', '.join(sorted(SUPPORTED_TYPES))}.")
    kind, limit = known
    if not data:
        raise CloudApiError(131053, "The uploaded file is empty.")
    if len(data) > limit:
        raise CloudApiError(131053, f"The file is {len(data)} bytes; {kind} files may be at "
                            f"most {limit} bytes.")
    return mime


class MediaStore:
    """Media by id, with expiry on the sandbox's clock and signed download URLs."""

    def __init__(self, key: bytes | None = None, max_bytes: int = MAX_STORED_BYTES) -> None:
        self._key = key if key is not None else secrets.token_bytes(16)
        self.max_bytes = max_bytes
        self._items: dict[str, StoredMedia] = {}
        self._bytes = 0

    def upload(self, channel: Channel, data: bytes, declared_type: str,
               filename: str | None, now: datetime) -> StoredMedia:
        """Keep an uploaded file for 30 days; its id (Meta's: 15-16 digits)."""
        mime = check_upload(data, declared_type)
        self._make_room(len(data), now)
        media_id = self._new_id()
        item = StoredMedia(media_id, channel.phone_number_id, channel.waba_id, mime, data,
                           now + UPLOAD_TTL, filename)
        self._items[media_id] = item
        self._bytes += len(data)
        return item

    def register_inbound(self, media_id: str, channel: Channel, mime_type: str,
                         now: datetime, sha256: str | None = None,
                         size: int | None = None) -> None:
        """A customer's media id from a webhook (with the type and hash it announced):
        downloadable for 7 days. ``size``: its bytes (a placeholder padded to it)."""
        self._forget(media_id)
        self._items[media_id] = StoredMedia(media_id, channel.phone_number_id, channel.waba_id,
                                            mime_type or "application/octet-stream", None,
                                            now + INBOUND_TTL, announced_sha256=sha256,
                                            size=size)

    def expire(self, media_id: str, now: datetime) -> bool:
        """Meta's copy ends now, as after its retention: the id and its URLs are unknown from
        here on. False if there was no such media."""
        item = self.get(media_id, now)
        if item is None:
            return False
        self._items[media_id] = replace(item, expires_at=now)
        return True

    def get(self, media_id: str, now: datetime) -> StoredMedia | None:
        """The media, unless unknown, deleted or expired."""
        item = self._items.get(media_id)
        if item is None or now >= item.expires_at:
            return None
        return item

    def delete(self, media_id: str) -> bool:
        return self._forget(media_id)

    def download_query(self, media_id: str, now: datetime) -> str:
        """The query string of a download URL valid for 5 minutes from ``now``."""
        expires = int((now + URL_TTL).timestamp())
        return f"mid={media_id}&ext={expires}&hash={self._sign(media_id, expires)}"

    def by_download(self, mid: str, ext: str, signature: str, now: datetime) -> StoredMedia | None:
        """The media a download URL names, if the URL is genuine, unexpired and it still exists."""
        if not ext.isdigit() or not hmac.compare_digest(self._sign(mid, int(ext)), signature):
            return None
        if now.timestamp() >= int(ext):
            return None
        return self.get(mid, now)

    def clear(self) -> None:
        self._items.clear()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def _sign(self, media_id: str, expires: int) -> str:
        message = f"{media_id}:{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    def _new_id(self) -> str:
        while True:
            media_id = str(2 * 10**15 + secrets.randbelow(8 * 10**15))
            if media_id not in self._items:
                return media_id

    def _forget(self, media_id: str) -> bool:
        item = self._items.pop(media_id, None)
        if item is None:
            return False
        if item.data is not None:
            self._bytes -= len(item.data)
        return True

    def _make_room(self, size: int, now: datetime) -> None:
        """Drop expired media, then the oldest uploads, until ``size`` more bytes fit."""
        if self._bytes + size <= self.max_bytes:
            return
        for media_id, item in list(self._items.items()):
            if now >= item.expires_at:
                self._forget(media_id)
        for media_id, item in list(self._items.items()):
            if self._bytes + size <= self.max_bytes:
                return
            if item.data is not None:
                self._forget(media_id)


def placeholder_png(media_id: str) -> bytes:
    """A 16x16 single-colour PNG, the colour derived from the id."""
    side = 16
    red, green, blue = hashlib.sha256(media_id.encode()).digest()[:3]
    row = b"\x00" + bytes((red, green, blue)) * side
    pixels = zlib.compress(row * side)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)
            + chunk(b"IEND", b""))
