"""The Cloud API media adapter's upload (adapters/cloud_api.py), on httpx.MockTransport: the
request Meta's reference asks for, and each way it can fail."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

import httpx
import pytest

from services.inbox_api.adapters.cloud_api import CloudApiMedia
from services.inbox_api.conversations.ports import MediaFile
from services.inbox_api.errors import Unavailable, UpstreamRefused
from tests.unit.inbox_api.fakes import ACME

BASE = "https://graph.example/v25.0"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
Handler = Callable[[httpx.Request], httpx.Response]


def adapter(handler: Handler) -> CloudApiMedia:
    return CloudApiMedia(httpx.AsyncClient(transport=httpx.MockTransport(handler)), BASE + "/")


def photo() -> MediaFile:
    return MediaFile(filename="photo.png", mime_type="image/png", content=io.BytesIO(PNG))


def parts(request: httpx.Request) -> dict[str, tuple[str | None, str | None, bytes]]:
    """The multipart body's parts by name: (file name, content type, bytes)."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request.content)
    found: dict[str, tuple[str | None, str | None, bytes]] = {}
    for part in message.iter_parts():
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        name = part.get_param("name", header="content-disposition")
        assert isinstance(name, str)
        found[name] = (part.get_filename(), part.get_content_type() if part.get_filename()
                       else None, payload)
    return found


def envelope(code: int, message: str, details: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code,
                             "fbtrace_id": "Ax1"}
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return {"error": error}


class TestUpload:
    async def test_the_request_is_metas_multipart_upload_with_the_numbers_token(self) -> None:
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            request.read()
            seen.append(request)
            return httpx.Response(200, json={"id": "1234567890"})

        assert await adapter(handler).upload(ACME, photo()) == "1234567890"
        [request] = seen
        assert request.method == "POST"
        assert str(request.url) == f"{BASE}/1001/media"
        assert request.headers["authorization"] == "Bearer acme-token"
        assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
        assert parts(request) == {
            "messaging_product": (None, None, b"whatsapp"),
            "type": (None, None, b"image/png"),
            "file": ("photo.png", "image/png", PNG)}

    async def test_a_numeric_id_is_read_as_text(self) -> None:
        upload = adapter(lambda _: httpx.Response(200, json={"id": 42}))
        assert await upload.upload(ACME, photo()) == "42"

    async def test_metas_refusal_is_502_with_its_message_and_code(self) -> None:
        answer = envelope(131053, "(#131053) Media upload error",
                          "Uploaded file type is not supported")
        with pytest.raises(UpstreamRefused) as caught:
            await adapter(lambda _: httpx.Response(400, json=answer)).upload(ACME, photo())
        assert caught.value.status_code == 502
        assert caught.value.body() == {
            "error": "media_upload_failed", "meta_code": 131053,
            "detail": "WhatsApp refused the upload: (#131053) Media upload error "
                      "(Uploaded file type is not supported)"}

    async def test_an_expired_token_is_502_naming_it(self) -> None:
        answer = envelope(190, "Error validating access token: Session has expired")
        with pytest.raises(UpstreamRefused) as caught:
            await adapter(lambda _: httpx.Response(401, json=answer)).upload(ACME, photo())
        assert "Session has expired" in caught.value.detail

    @pytest.mark.parametrize(("status", "answer"), [
        (429, envelope(130429, "(#130429) Rate limit hit")),
        (503, envelope(131016, "(#131016) Service unavailable")),
        (502, {"unexpected": True}),
    ])
    async def test_a_transient_answer_is_503_to_retry(self, status: int,
                                                      answer: dict[str, Any]) -> None:
        with pytest.raises(Unavailable) as caught:
            await adapter(lambda _: httpx.Response(status, json=answer)).upload(ACME, photo())
        assert caught.value.body()["error"] == "media_upload_unavailable"
        assert caught.value.detail.endswith("Try again shortly.")

    @pytest.mark.parametrize("response", [
        httpx.Response(200, json={"success": True}),
        httpx.Response(400, text="<html>bad</html>"),
        httpx.Response(200, content=json.dumps({"id": ""}).encode()),
    ])
    async def test_an_answer_without_an_id_is_502(self, response: httpx.Response) -> None:
        with pytest.raises(UpstreamRefused) as caught:
            await adapter(lambda _: response).upload(ACME, photo())
        assert "without an explanation" in caught.value.detail

    async def test_an_unreachable_api_is_503(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        with pytest.raises(Unavailable) as caught:
            await adapter(handler).upload(ACME, photo())
        assert caught.value.code == "media_upload_unavailable"
        assert "could not be reached" in caught.value.detail
