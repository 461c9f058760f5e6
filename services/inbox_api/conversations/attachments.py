"""What WhatsApp takes as an attachment, checked before anything is uploaded. Pure.

Meta's supported media (the Cloud API media reference, "Supported media types"; the project's
notes: /work/shared/whatsapp-cloud-api.md section 9):

| WhatsApp type | MIME types                                                    | largest |
| ------------- | ------------------------------------------------------------- | ------- |
| image         | image/jpeg, image/png                                         | 5 MB    |
| video         | video/mp4, video/3gpp                                         | 16 MB   |
| audio         | audio/aac, audio/amr, audio/mpeg, audio/mp4, audio/ogg (Opus) | 16 MB   |
| document      | text/plain, application/pdf, Word, Excel, PowerPoint          | 100 MB  |
| sticker       | image/webp                                                    | 500 KB  |

(a static sticker: 100 KB; an animated one: 500 KB).

:func:`check_attachment` decides the WhatsApp type and the MIME type the upload declares, or
raises :class:`AttachmentRejected` naming what is wrong: ``unsupported`` (the API answers 415),
``too_large`` (413) or ``invalid`` (422, with ``field``). The type is the one the client declared
(a browser's, from the file's extension), or the extension's when it declared none; images and
stickers are also checked by their first bytes, because Meta refuses a JPEG sent as a PNG.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO, Literal

MediaType = Literal["image", "video", "audio", "document", "sticker"]
Problem = Literal["unsupported", "too_large", "invalid"]

KB = 1024
MB = 1024 * KB
STATIC_STICKER_LIMIT = 100 * KB
ANIMATED_STICKER_LIMIT = 500 * KB
CAPTION_LIMIT = 1024
# Bytes of the file the checks look at (signatures and the WebP animation flag).
HEAD_BYTES = 32
# Meta shows a caption on these only (audio and stickers have none).
CAPTIONED: frozenset[MediaType] = frozenset({"image", "video", "document"})

_OFFICE = "application/vnd.openxmlformats-officedocument"
MEDIA_TYPES: dict[str, tuple[MediaType, int]] = {
    "image/jpeg": ("image", 5 * MB),
    "image/png": ("image", 5 * MB),
    "video/mp4": ("video", 16 * MB),
    "video/3gpp": ("video", 16 * MB),
    **{mime: ("audio", 16 * MB) for mime in (
        "audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg")},
    **{mime: ("document", 100 * MB) for mime in (
        "text/plain", "application/pdf", "application/msword", "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint", f"{_OFFICE}.wordprocessingml.document",
        f"{_OFFICE}.spreadsheetml.sheet", f"{_OFFICE}.presentationml.presentation")},
    "image/webp": ("sticker", ANIMATED_STICKER_LIMIT),
}
# The largest file any type allows: a request over it is refused before it is read.
LARGEST = max(limit for _, limit in MEDIA_TYPES.values())

# What browsers and tools also call these types. Meta's own table writes video/3gp.
_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "video/3gp": "video/3gpp",
            "audio/mp3": "audio/mpeg", "audio/x-m4a": "audio/mp4", "audio/m4a": "audio/mp4",
            "audio/x-aac": "audio/aac", "audio/aacp": "audio/aac"}
# For a file sent without a type (or as application/octet-stream).
_EXTENSIONS = {
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp",
    "mp4": "video/mp4", "3gp": "video/3gpp", "aac": "audio/aac", "amr": "audio/amr",
    "mp3": "audio/mpeg", "m4a": "audio/mp4", "ogg": "audio/ogg", "opus": "audio/ogg",
    "txt": "text/plain", "pdf": "application/pdf", "doc": "application/msword",
    "docx": f"{_OFFICE}.wordprocessingml.document", "xls": "application/vnd.ms-excel",
    "xlsx": f"{_OFFICE}.spreadsheetml.sheet", "ppt": "application/vnd.ms-powerpoint",
    "pptx": f"{_OFFICE}.presentationml.presentation"}
_UNTYPED = {"", "application/octet-stream", "binary/octet-stream"}
_IMAGE_NAMES = {"image/jpeg": "JPEG image", "image/png": "PNG image", "image/webp": "WebP sticker"}
_ACCEPTED = ("JPEG or PNG images, MP4 or 3GP videos, AAC, AMR, MP3, M4A or Ogg (Opus) audio, "
             "PDF, text, Word, Excel or PowerPoint documents, and WebP stickers")
_FILENAME_LIMIT = 240


class AttachmentRejected(ValueError):
    """The file breaks one of WhatsApp's media rules; ``problem`` says which kind, ``code`` is
    the API's error code and ``field`` the form field at fault (422 only)."""

    def __init__(self, problem: Problem, code: str, message: str,
                 field: str | None = None) -> None:
        super().__init__(message)
        self.problem = problem
        self.code = code
        self.field = field


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file as the agent sent it: name, declared type, size, first bytes, and the bytes."""

    filename: str
    declared_type: str | None
    size: int
    head: bytes
    content: BinaryIO
    caption: str | None = None
    reply_to: str | None = None


@dataclass(frozen=True, slots=True)
class MediaSpec:
    """How the file goes to WhatsApp: its media type, the MIME type the upload declares, the
    file name shown for a document, and the caption (only where Meta shows one)."""

    media_type: MediaType
    mime_type: str
    filename: str
    caption: str | None


def check_attachment(attachment: Attachment) -> MediaSpec:
    """The file's WhatsApp media type and MIME type, or :class:`AttachmentRejected`."""
    filename = safe_filename(attachment.filename)
    mime_type = _mime_type(attachment.declared_type, filename)
    if mime_type not in MEDIA_TYPES:
        raise AttachmentRejected(
            "unsupported", "unsupported_media_type",
            f"WhatsApp does not take {mime_type or 'untyped'} files ({filename}). "
            f"It takes {_ACCEPTED}.")
    if attachment.size <= 0:
        raise AttachmentRejected("invalid", "validation_failed", "file: the file is empty.",
                                 field="file")
    if mime_type in _IMAGE_NAMES:
        mime_type = _image_type(mime_type, attachment.head, filename)
    media_type, limit = MEDIA_TYPES[mime_type]
    if media_type == "sticker" and not _animated_webp(attachment.head):
        limit = STATIC_STICKER_LIMIT
    if attachment.size > limit:
        kind = {"sticker": "static stickers" if limit == STATIC_STICKER_LIMIT
                else "animated stickers"}.get(media_type, f"{media_type}s")
        raise AttachmentRejected(
            "too_large", "media_too_large",
            f"{filename} is {format_size(attachment.size)}; WhatsApp takes {kind} up to "
            f"{format_size(limit)}.")
    caption = (attachment.caption or "").strip() or None
    if caption is not None and media_type not in CAPTIONED:
        raise AttachmentRejected(
            "invalid", "validation_failed",
            f"caption: WhatsApp shows no caption on {media_type} messages; send the text as a "
            "message of its own.", field="caption")
    if caption is not None and len(caption) > CAPTION_LIMIT:
        raise AttachmentRejected("invalid", "validation_failed",
                                 f"caption: at most {CAPTION_LIMIT} characters.", field="caption")
    return MediaSpec(media_type=media_type, mime_type=mime_type, filename=filename,
                     caption=caption)


def safe_filename(name: str) -> str:
    """The base name only (some clients send a path), without control characters, bounded."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c for c in base if c.isprintable()).strip()
    return cleaned[-_FILENAME_LIMIT:] or "file"


def format_size(size: int) -> str:
    if size >= MB:
        return f"{size / MB:.1f} MB".replace(".0 MB", " MB")
    return f"{max(1, round(size / KB))} KB"


def _mime_type(declared: str | None, filename: str) -> str:
    mime = (declared or "").split(";", 1)[0].strip().lower()
    if mime in _UNTYPED:
        extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        return _EXTENSIONS.get(extension, mime)
    return _ALIASES.get(mime, mime)


def _sniff_image(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def _image_type(declared: str, head: bytes, filename: str) -> str:
    """The image's real type: a JPEG named .png is sent as the JPEG it is (Meta refuses a type
    that does not match the bytes); something that is no such image at all is refused."""
    sniffed = _sniff_image(head)
    # A WebP is a sticker, never an image (and the reverse): a different message, not a fix.
    if sniffed is None or MEDIA_TYPES[sniffed][0] != MEDIA_TYPES[declared][0]:
        raise AttachmentRejected(
            "unsupported", "media_type_mismatch",
            f"{filename} is declared {declared} but is not a {_IMAGE_NAMES[declared]}.")
    return sniffed


def _animated_webp(head: bytes) -> bool:
    """The WebP extended header (VP8X) with its animation flag set."""
    return head[12:16] == b"VP8X" and len(head) > 20 and bool(head[20] & 0x02)
