"""Meta's media endpoints, minimally: ``GET /{version}/{media_id}`` answers the media's metadata
with a download URL, and that URL serves the bytes. Both need a channel's access token.

The sandbox keeps no media: every id (customers' media ids are numbers) gets the same kind of
placeholder, a small PNG whose colour comes from the id, so a proxy and a browser have real
bytes to show.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import zlib
from typing import Annotated

from fastapi import APIRouter, Header, Path, Request, Response
from fastapi.responses import JSONResponse

from sandbox.service import Sandbox

VERSION = r"^v[0-9]+\.[0-9]+$"
SIDE = 16


def placeholder_png(media_id: str) -> bytes:
    """A 16x16 single-colour PNG, the colour derived from the id."""
    red, green, blue = hashlib.sha256(media_id.encode()).digest()[:3]
    row = b"\x00" + bytes((red, green, blue)) * SIDE
    pixels = zlib.compress(row * SIDE)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", SIDE, SIDE, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)
            + chunk(b"IEND", b""))


def _authorized(request: Request, authorization: str | None) -> bool:
    sandbox: Sandbox = request.state.sandbox
    if not authorization or not authorization.lower().startswith("bearer "):
        return False
    token = authorization[7:].strip()
    return any(c.access_token.get_secret_value() == token for c in sandbox.catalog.channels())


def _oauth_error() -> JSONResponse:
    return JSONResponse({"error": {"message": "Invalid OAuth access token.", "type":
                                   "OAuthException", "code": 190}}, status_code=401)


def media_router() -> APIRouter:
    router = APIRouter(tags=["Cloud API media"])

    # ``:int`` keeps other two-segment paths (``/v25.0/messages``) out of these routes.
    @router.get("/{version}/{media_id:int}")
    async def media_info(request: Request,
                         version: Annotated[str, Path(pattern=VERSION)],
                         media_id: int,
                         authorization: Annotated[str | None, Header()] = None) -> Response:
        if not _authorized(request, authorization):
            return _oauth_error()
        data = placeholder_png(str(media_id))
        url = str(request.url_for("media_download", version=version, media_id=media_id))
        return JSONResponse({
            "messaging_product": "whatsapp", "url": url, "mime_type": "image/png",
            "sha256": base64.b64encode(hashlib.sha256(data).digest()).decode(),
            "file_size": len(data), "id": str(media_id)})

    @router.get("/{version}/_download/{media_id:int}", name="media_download")
    async def media_download(request: Request,
                             version: Annotated[str, Path(pattern=VERSION)],
                             media_id: int,
                             authorization: Annotated[str | None, Header()] = None) -> Response:
        if not _authorized(request, authorization):
            return _oauth_error()
        return Response(placeholder_png(str(media_id)), media_type="image/png")

    return router
