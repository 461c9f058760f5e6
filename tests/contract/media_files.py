"""Small files of each media kind, and uploading them with pywa (``POST /{phone_number_id}/media``).

The image is a real 1x1 PNG; the others only start like their format (the magic bytes), which is
all a file's MIME type is checked against.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from pywa_async.client import WhatsApp


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x25\xd3\x66")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)
            + chunk(b"IEND", b""))


@dataclass(frozen=True)
class File:
    content: bytes
    mime_type: str
    filename: str


FILES = {
    "image": File(_png(), "image/png", "box.png"),
    "video": File(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", "video/mp4",
                  "unboxing.mp4"),
    "audio": File(b"OggS\x00\x02" + bytes(20) + b"OpusHead", "audio/ogg", "note.ogg"),
    "document": File(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n",
                     "application/pdf", "invoice.pdf"),
    "sticker": File(b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10"
                    b"\x11\x11\x88\x88\xfe\x07\x00", "image/webp", "thanks.webp"),
}


async def upload(wa: WhatsApp, kind: str) -> str:
    """Uploads ``FILES[kind]`` to the business number; returns the media id."""
    file = FILES[kind]
    media = await wa.upload_media(file.content, mime_type=file.mime_type, filename=file.filename)
    return str(media.id)
