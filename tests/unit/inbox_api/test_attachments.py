"""Sending a file: the use case (InboxCommands.send_media) on fakes, and its route through the
real app (multipart parsing, errors)."""

from __future__ import annotations

import io

import httpx
import pytest

from services.inbox_api.accounts.credentials import Identity
from services.inbox_api.conversations.attachments import MB, Attachment
from services.inbox_api.errors import (
    InboxApiError,
    InvalidInput,
    NotFound,
    SendRefused,
    TooLarge,
    Unavailable,
    UnsupportedMedia,
    UpstreamRefused,
)
from shared.events import SendMedia
from tests.unit.inbox_api.fakes import GLOBEX_KEY, Wiring

OPEN = "1001:16505550123"
CLOSED = "1001:447700900001"
GLOBEX_CONVERSATION = "1002:16505550999"
ANA = Identity(tenant_id="acme", agent_id="ana", display_name="Ana", kind="agent",
               key_hash="h")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
PDF = b"%PDF-1.7\n" + b"\x00" * 40


def attachment(filename: str = "photo.png", declared: str | None = "image/png",
               data: bytes = PNG, *, size: int | None = None, caption: str | None = None,
               reply_to: str | None = None) -> Attachment:
    return Attachment(filename=filename, declared_type=declared,
                      size=len(data) if size is None else size, head=data[:32],
                      content=io.BytesIO(data), caption=caption, reply_to=reply_to)


async def send(wiring: Wiring, att: Attachment, conversation: str = OPEN,
               key: str | None = None) -> str:
    accepted = await wiring.state["commands"].send_media(ANA, conversation, att, key)
    return accepted.command_id


async def refused(wiring: Wiring, att: Attachment, conversation: str = OPEN) -> InboxApiError:
    with pytest.raises(InboxApiError) as caught:
        await send(wiring, att, conversation)
    assert wiring.publisher.published == []
    return caught.value


class TestSendMedia:
    async def test_an_image_is_uploaded_then_sent_by_its_media_id(self, wiring: Wiring) -> None:
        command_id = await send(wiring, attachment(caption="the parcel"), key="k1")
        [upload] = wiring.uploader.uploads
        assert (upload.token, upload.phone_number_id) == ("acme-token", "1001")
        assert (upload.filename, upload.mime_type, upload.data) == ("photo.png", "image/png",
                                                                    PNG)
        [command] = wiring.publisher.published
        assert isinstance(command, SendMedia)
        assert (command.media_type, command.media_id, command.link) == ("image", "9000", None)
        assert command.caption == "the parcel"
        assert command.filename is None
        assert command.command_id == command_id == command.reference
        assert (command.actor_id, command.customer_wa_id) == ("ana", "16505550123")
        assert command.business_phone_number_id == "1001"

    async def test_a_document_keeps_its_file_name_and_reply_context(self,
                                                                    wiring: Wiring) -> None:
        await send(wiring, attachment("C:\\docs\\Invoice 42.pdf", "application/pdf", PDF,
                                      caption="Your invoice", reply_to="wamid.Q"))
        [command] = wiring.publisher.published
        assert isinstance(command, SendMedia)
        assert (command.media_type, command.filename) == ("document", "Invoice 42.pdf")
        assert (command.caption, command.reply_to_wamid) == ("Your invoice", "wamid.Q")

    async def test_the_same_idempotency_key_is_the_same_command(self, wiring: Wiring) -> None:
        assert await send(wiring, attachment(), key="same") == await send(
            wiring, attachment(), key="same")

    async def test_a_closed_window_is_refused_like_a_text_and_uploads_nothing(
            self, wiring: Wiring) -> None:
        error = await refused(wiring, attachment(), CLOSED)
        assert isinstance(error, SendRefused)
        assert error.body()["reason"] == "window_expired"
        assert error.body()["hint"] == "Send an approved template instead."
        assert wiring.uploader.uploads == []

    async def test_another_tenants_conversation_is_not_found(self, wiring: Wiring) -> None:
        assert isinstance(await refused(wiring, attachment(), GLOBEX_CONVERSATION), NotFound)

    @pytest.mark.parametrize(("att", "error_type", "code"), [
        (attachment(size=5 * MB + 1), TooLarge, "media_too_large"),
        (attachment("a.gif", "image/gif"), UnsupportedMedia, "unsupported_media_type"),
        (attachment("a.png", "image/png", PDF), UnsupportedMedia, "media_type_mismatch"),
        (attachment("a.ogg", "audio/ogg", b"OggS", caption="hi"), InvalidInput,
         "validation_failed"),
    ])
    async def test_a_file_outside_whatsapps_limits_is_refused_before_the_upload(
            self, wiring: Wiring, att: Attachment, error_type: type[InboxApiError],
            code: str) -> None:
        error = await refused(wiring, att)
        assert (type(error), error.code) == (error_type, code)
        assert wiring.uploader.uploads == []

    @pytest.mark.parametrize("failure", [
        UpstreamRefused("WhatsApp refused the upload: bad file", code="media_upload_failed"),
        Unavailable("unreachable", code="media_upload_unavailable"),
    ])
    async def test_a_failed_upload_publishes_nothing(self, wiring: Wiring,
                                                     failure: InboxApiError) -> None:
        wiring.uploader.error = failure
        assert await refused(wiring, attachment()) is failure


async def post_file(http: httpx.AsyncClient, conversation: str = OPEN, data: bytes = PNG,
                    filename: str = "photo.png", mime: str = "image/png",
                    headers: dict[str, str] | None = None, **fields: str) -> httpx.Response:
    """The browser's request: multipart with the file and the text fields."""
    return await http.post(f"/api/v1/conversations/{conversation}/attachments",
                           files={"file": (filename, data, mime)}, data=fields,
                           headers=headers)


class TestRoute:
    async def test_multipart_file_caption_and_reply_to_are_read(
            self, http: httpx.AsyncClient, wiring: Wiring) -> None:
        response = await post_file(http, caption="look", reply_to="wamid.R",
                                   headers={"Idempotency-Key": "a1"})
        assert response.status_code == 202, response.text
        [command] = wiring.publisher.published
        assert isinstance(command, SendMedia)
        assert response.json() == {"command_id": command.command_id, "status": "queued",
                                   "conversation_id": OPEN}
        assert (command.media_id, command.caption, command.reply_to_wamid) == (
            "9000", "look", "wamid.R")
        assert wiring.uploader.uploads[0].data == PNG

    async def test_closed_window_is_409_with_reason_and_hint(self,
                                                             http: httpx.AsyncClient) -> None:
        response = await post_file(http, CLOSED)
        assert response.status_code == 409
        assert response.json()["reason"] == "window_expired"

    async def test_a_missing_file_is_422_naming_it(self, http: httpx.AsyncClient) -> None:
        response = await http.post(f"/api/v1/conversations/{OPEN}/attachments",
                                   data={"caption": "no file"},
                                   files={"other": ("x.png", PNG, "image/png")})
        assert response.status_code == 422
        assert (response.json()["error"], response.json()["field"]) == ("validation_failed",
                                                                        "file")

    async def test_a_reply_to_over_512_characters_is_422(self, http: httpx.AsyncClient) -> None:
        response = await post_file(http, reply_to="w" * 513)
        assert response.status_code == 422
        assert response.json()["field"] == "reply_to"

    async def test_json_instead_of_a_form_is_415(self, http: httpx.AsyncClient) -> None:
        response = await http.post(f"/api/v1/conversations/{OPEN}/attachments",
                                   json={"file": "x"})
        assert response.status_code == 415
        assert "multipart/form-data" in response.json()["detail"]

    async def test_an_unsupported_type_is_415_naming_it(self, http: httpx.AsyncClient) -> None:
        response = await post_file(http, data=b"GIF89a", filename="cat.gif", mime="image/gif")
        assert response.status_code == 415
        assert response.json()["error"] == "unsupported_media_type"
        assert "image/gif" in response.json()["detail"]

    async def test_an_image_over_5_mb_is_413(self, http: httpx.AsyncClient,
                                             wiring: Wiring) -> None:
        response = await post_file(http, data=PNG + b"\x00" * (5 * MB))
        assert response.status_code == 413
        assert response.json()["error"] == "media_too_large"
        assert "up to 5 MB" in response.json()["detail"]
        assert wiring.uploader.uploads == []

    async def test_a_body_over_the_largest_limit_is_413_before_it_is_read(
            self, http: httpx.AsyncClient) -> None:
        response = await http.post(
            f"/api/v1/conversations/{OPEN}/attachments", content=b"--b--\r\n",
            headers={"Content-Type": "multipart/form-data; boundary=b",
                     "Content-Length": str(101 * MB)})
        assert response.status_code == 413

    async def test_a_malformed_body_is_400(self, http: httpx.AsyncClient) -> None:
        response = await http.post(f"/api/v1/conversations/{OPEN}/attachments",
                                   content=b"not multipart",
                                   headers={"Content-Type": "multipart/form-data"})
        assert response.status_code == 400
        assert response.json()["error"] == "malformed_multipart"

    async def test_a_second_file_is_400(self, http: httpx.AsyncClient) -> None:
        response = await http.post(f"/api/v1/conversations/{OPEN}/attachments",
                                   files=[("file", ("a.png", PNG, "image/png")),
                                          ("caption", ("c.txt", b"x", "text/plain"))])
        assert response.status_code == 400
        assert response.json()["error"] == "malformed_multipart"

    async def test_upload_refused_by_meta_is_502_with_metas_message(
            self, http: httpx.AsyncClient, wiring: Wiring) -> None:
        wiring.uploader.error = UpstreamRefused(
            "WhatsApp refused the upload: (#131053) Media upload error",
            code="media_upload_failed", meta_code=131053)
        response = await post_file(http)
        assert response.status_code == 502
        assert response.json() == {"error": "media_upload_failed", "meta_code": 131053,
                                   "detail": "WhatsApp refused the upload: (#131053) Media "
                                             "upload error"}
        assert wiring.publisher.published == []

    async def test_another_tenants_conversation_is_404(self, http: httpx.AsyncClient) -> None:
        response = await post_file(http, GLOBEX_CONVERSATION)
        assert response.status_code == 404

    async def test_the_route_is_documented_as_a_multipart_form(
            self, http: httpx.AsyncClient) -> None:
        spec = (await http.get("/api/v1/openapi.json")).json()
        operation = spec["paths"]["/api/v1/conversations/{conversation_id}/attachments"]["post"]
        schema = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
        assert schema["required"] == ["file"]
        assert {"413", "415", "502"} <= set(operation["responses"])


class TestOutboundMediaIsServed:
    async def test_an_uploaded_id_in_an_outbound_message_is_found(
            self, http: httpx.AsyncClient, wiring: Wiring) -> None:
        # The store keeps an outbound media send's object under content.media.
        wiring.repository.messages.append({
            "_id": f"{OPEN}/cmd:c1", "tenant_id": "acme", "conversation_id": OPEN,
            "business_phone_number_id": "1001", "direction": "outbound", "visible": True,
            "sort_key": "2", "message_type": "image",
            "content": {"media": {"type": "image", "id": "9000"}}})
        response = await http.get("/api/v1/media/9000")
        assert response.status_code == 200
        assert wiring.media.tokens == ["acme-token"]
        other = await http.get("/api/v1/media/9000",
                               headers={"Authorization": f"Bearer {GLOBEX_KEY}"})
        assert other.status_code == 404
