"""The media archiver's rules. Pure: no I/O, no clock (the random source of the jitter is
passed in).

- which events carry media to archive (:func:`media_of`): a customer's message of a media kind
  with Meta's media id, and an agent's :class:`RetryMediaDownload`;
- the policy (:class:`MediaPolicy`): the MIME types allowed and the largest file of each kind,
  Meta's own by default (/work/shared/whatsapp-cloud-api.md section 9), with the reason an agent
  reads when a file is refused;
- the retry schedule (:class:`RetrySchedule`): a download that failed transiently is tried again
  after the shared backoff (shared/backoff.py), a bounded number of times.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from shared.backoff import backoff_delay
from shared.events import MessageReceived, RetryMediaDownload
from shared.media_archive import ArchiveStatus

KB = 1024
MB = 1024 * KB
MEDIA_KINDS = frozenset({"image", "video", "audio", "document", "sticker"})
# Meta's largest file of each kind (an animated sticker's 500 KB; a static one's is 100 KB).
DEFAULT_MAX_BYTES: dict[str, int] = {"image": 5 * MB, "video": 16 * MB, "audio": 16 * MB,
                                     "document": 100 * MB, "sticker": 500 * KB}
_OFFICE = "application/vnd.openxmlformats-officedocument"
# Meta's supported media types. ``type/*`` and ``*/*`` are allowed in the setting too.
DEFAULT_ALLOWED_TYPES: tuple[str, ...] = (
    "image/jpeg", "image/png", "image/webp",
    "video/mp4", "video/3gpp",
    "audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg",
    "text/plain", "application/pdf", "application/msword", "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint", f"{_OFFICE}.wordprocessingml.document",
    f"{_OFFICE}.spreadsheetml.sheet", f"{_OFFICE}.presentationml.presentation",
)
# Content types that say nothing about the file (a download may answer with one of these).
UNTYPED = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_PLURAL = {"image": "images", "video": "videos", "audio": "audio files",
           "document": "documents", "sticker": "stickers"}


@dataclass(frozen=True, slots=True)
class MediaRef:
    """One media to archive, and the message it came with."""

    tenant_id: str
    conversation_id: str
    business_phone_number_id: str
    media_id: str
    message_wamid: str
    media_type: str
    mime_type: str | None = None
    filename: str | None = None
    sha256: str | None = None


def media_of(event: object) -> MediaRef | None:
    """The media an event asks to archive, else None."""
    if isinstance(event, RetryMediaDownload):
        return MediaRef(event.tenant_id, event.conversation_id, event.business_phone_number_id,
                        event.media_id, event.message_wamid, event.media_type, event.mime_type,
                        event.filename, event.sha256)
    if not isinstance(event, MessageReceived) or event.conversation_id is None:
        return None
    message = event.payload
    media_id = message.content.get("id")
    if message.message_type not in MEDIA_KINDS or not isinstance(media_id, str) or not media_id:
        return None
    return MediaRef(event.tenant_id, event.conversation_id, message.business_phone_number_id,
                    media_id, message.wamid, message.message_type,
                    _text(message.content.get("mime_type")),
                    _text(message.content.get("filename")), _text(message.content.get("sha256")))


def base_type(mime_type: str | None) -> str:
    """``audio/ogg`` of ``audio/ogg; codecs=opus``, lowercased."""
    return (mime_type or "").split(";", 1)[0].strip().lower()


@dataclass(frozen=True, slots=True)
class Refusal:
    """A file the policy refuses, and why (the reason an agent reads)."""

    status: ArchiveStatus
    reason: str
    size: int | None = None
    limit: int | None = None


@dataclass(frozen=True, slots=True)
class MediaPolicy:
    """What the archive keeps: ``allowed_types`` (exact, ``type/*`` or ``*/*``) and the largest
    file of each kind (a kind not listed gets the largest limit)."""

    max_bytes: Mapping[str, int]
    allowed_types: frozenset[str]

    @classmethod
    def of(cls, max_bytes: Mapping[str, int], allowed_types: Iterable[str]) -> MediaPolicy:
        return cls(dict(max_bytes), frozenset(base_type(t) for t in allowed_types))

    def limit(self, media_type: str) -> int:
        return self.max_bytes.get(media_type, max(self.max_bytes.values(), default=100 * MB))

    def allows(self, mime_type: str) -> bool:
        kind = base_type(mime_type)
        family = kind.split("/", 1)[0]
        return bool({kind, f"{family}/*", "*/*"} & self.allowed_types)

    def check_type(self, media_type: str, mime_type: str | None) -> Refusal | None:
        """Refuses a MIME type the policy does not allow (an unknown one too)."""
        kind = base_type(mime_type)
        if kind and self.allows(kind):
            return None
        said = kind or "unknown"
        return Refusal(ArchiveStatus.DISALLOWED_TYPE,
                       f"type {said} is not allowed for {_PLURAL.get(media_type, 'media')}")

    def check_download_type(self, media_type: str, content_type: str | None) -> Refusal | None:
        """The download's own Content-Type, when it names one: it must be allowed too."""
        if base_type(content_type) in UNTYPED:
            return None
        return self.check_type(media_type, content_type)

    def check_size(self, media_type: str, size: int | None) -> Refusal | None:
        """Refuses a file over the kind's limit (an unknown size passes: the download is capped
        as it streams)."""
        limit = self.limit(media_type)
        if size is None or size <= limit:
            return None
        return too_large(media_type, size, limit)


def too_large(media_type: str, size: int, limit: int, *, at_least: bool = False) -> Refusal:
    """The refusal of a file of ``size`` bytes (``at_least``: the download was cut there)."""
    what = f"over {format_size(limit)}" if at_least else format_size(size)
    return Refusal(ArchiveStatus.TOO_LARGE,
                   f"too large ({what}; the limit for {_PLURAL.get(media_type, 'media')} is "
                   f"{format_size(limit)})", size=size, limit=limit)


def format_size(size: int) -> str:
    """``5 MB``, ``6.2 MB``, ``500 KB``, ``80 bytes``."""
    for unit, scale in (("MB", MB), ("KB", KB)):
        if size >= scale:
            value = size / scale
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size} bytes"


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """At most ``attempts`` tries of a download; between them the shared backoff."""

    attempts: int = 4
    base_seconds: float = 1.0
    max_seconds: float = 30.0

    def delay(self, failures: int, rng: Callable[[], float] = random.random) -> float | None:
        """Seconds to wait after ``failures`` failed tries, or None: give up."""
        if failures >= self.attempts:
            return None
        return backoff_delay(failures, self.base_seconds, self.max_seconds, rng)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
