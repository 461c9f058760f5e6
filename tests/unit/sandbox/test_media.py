"""Media as the Cloud API keeps it: upload, metadata with a 5-minute URL, download, delete,
expiry, customers' media, and sends that name media ids."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from sandbox.errors import CloudApiError
from sandbox.media import MediaStore, check_upload, placeholder_png
from sandbox.multipart import NotMultipart, parse_form
from tests.unit.sandbox.fakes import START
from tests.unit.sandbox.test_app import (
    AUTH,
    CHANNEL,
    CUSTOMER,
    NUMBER,
    Harness,
    code,
    failure,
    template,
)
from tests.unit.sandbox.test_app import harness as app_harness

harness = app_harness  # the same fixture: the app over ASGI, a manual clock, fake webhooks

PNG = placeholder_png("upload")
UPLOAD_URL = f"/v25.0/{NUMBER}/media"


def form(*, data: bytes = PNG, mime: str = "image/png", **fields: str) -> dict[str, Any]:
    values = {"messaging_product": "whatsapp", "type": mime, **fields}
    return {"data": {k: v for k, v in values.items() if v != ""},
            "files": {"file": ("photo.png", data, mime)}}


async def upload(harness: Harness, data: bytes = PNG, mime: str = "image/png") -> str:
    response = await harness.http.post(UPLOAD_URL, headers=AUTH, **form(data=data, mime=mime))
    assert response.status_code == 200, response.text
    media_id: str = response.json()["id"]
    return media_id


def image(media_id: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "image",
            "image": {"id": media_id, "caption": "look"}}


class TestStore:
    def test_upload_get_delete(self) -> None:
        store = MediaStore()
        item = store.upload(CHANNEL, PNG, "image/png", "a.png", START)
        assert item.media_id.isdigit()
        assert len(item.media_id) == 16
        assert store.get(item.media_id, START) == item
        assert store.delete(item.media_id)
        assert store.get(item.media_id, START) is None
        assert not store.delete(item.media_id)

    def test_uploads_expire_after_30_days_customers_media_after_7(self) -> None:
        store = MediaStore()
        upload = store.upload(CHANNEL, PNG, "image/png", None, START)
        store.register_inbound("777", CHANNEL, "image/jpeg", START)
        assert store.get("777", START + timedelta(days=7, seconds=-1)) is not None
        assert store.get("777", START + timedelta(days=7)) is None
        assert store.get(upload.media_id, START + timedelta(days=29)) is not None
        assert store.get(upload.media_id, START + timedelta(days=30)) is None

    def test_a_download_url_is_good_for_5_minutes_and_cannot_be_forged(self) -> None:
        store = MediaStore()
        item = store.upload(CHANNEL, PNG, "image/png", None, START)
        query = dict(p.split("=", 1) for p in store.download_query(item.media_id, START)
                     .split("&"))
        mid, ext, sig = query["mid"], query["ext"], query["hash"]
        later = START + timedelta(minutes=4, seconds=59)
        assert store.by_download(mid, ext, sig, later) == item
        assert store.by_download(mid, ext, sig, START + timedelta(minutes=5)) is None
        assert store.by_download(mid, str(int(ext) + 3600), sig, START) is None
        assert store.by_download(mid, ext, "0" * 32, START) is None
        assert MediaStore().by_download(mid, ext, sig, START) is None  # another process's key

    def test_the_oldest_uploads_make_room(self) -> None:
        store = MediaStore(max_bytes=2 * len(PNG))
        first = store.upload(CHANNEL, PNG, "image/png", None, START)
        second = store.upload(CHANNEL, PNG, "image/png", None, START)
        third = store.upload(CHANNEL, PNG, "image/png", None, START)
        assert store.get(first.media_id, START) is None
        assert store.get(second.media_id, START) is not None
        assert store.get(third.media_id, START) is not None

    def test_a_customers_image_is_a_placeholder_png_and_other_media_a_text(self) -> None:
        store = MediaStore()
        store.register_inbound("1", CHANNEL, "image/jpeg", START)
        store.register_inbound("2", CHANNEL, "application/pdf", START)
        photo, photo_type = store.get("1", START).content()  # type: ignore[union-attr]
        assert (photo[:4], photo_type) == (b"\x89PNG", "image/jpeg")
        doc, doc_type = store.get("2", START).content()  # type: ignore[union-attr]
        assert doc_type == "application/pdf"
        assert b"placeholder" in doc

    @pytest.mark.parametrize(("data", "mime", "kept"), [
        (PNG, "image/png", "image/png"),
        (b"OggS", "audio/ogg; codecs=opus", "audio/ogg"),
        (b"%PDF", "application/pdf", "application/pdf"),
        (b"RIFF", "image/webp", "image/webp"),
    ])
    def test_metas_types_are_taken(self, data: bytes, mime: str, kept: str) -> None:
        assert check_upload(data, mime) == kept

    @pytest.mark.parametrize(("data", "mime"), [
        (PNG, "image/gif"),
        (PNG, "application/zip"),
        (b"", "image/png"),
        (b"x" * (5 * 1024 * 1024 + 1), "image/jpeg"),
        (b"x" * (500 * 1024 + 1), "image/webp"),
    ])
    def test_other_types_and_oversized_files_are_131053(self, data: bytes, mime: str) -> None:
        with pytest.raises(CloudApiError) as caught:
            check_upload(data, mime)
        assert caught.value.code == 131053


class TestMultipart:
    def test_a_form_reads_back_byte_for_byte(self) -> None:
        data = bytes(range(256)) * 50 + b"\r\n--not-a-boundary\r\n\r\n"
        request = httpx.Request("POST", "http://x/", data={"messaging_product": "whatsapp"},
                                files={"file": ("a.bin", data, "image/png")})
        fields = parse_form(request.headers["content-type"], request.read())
        assert fields["messaging_product"].text() == "whatsapp"
        assert fields["messaging_product"].filename is None
        assert (fields["file"].data, fields["file"].filename,
                fields["file"].content_type) == (data, "a.bin", "image/png")

    def test_a_body_that_is_not_a_form_is_refused(self) -> None:
        with pytest.raises(NotMultipart):
            parse_form("application/json", b"{}")


class TestMediaApi:
    async def test_upload_then_metadata_then_the_bytes(self, harness: Harness) -> None:
        media_id = await upload(harness)
        info = await harness.http.get(f"/v25.0/{media_id}", headers=AUTH)
        assert info.status_code == 200
        meta = info.json()
        assert set(meta) == {"messaging_product", "url", "mime_type", "sha256", "file_size",
                             "id"}
        assert (meta["id"], meta["mime_type"], meta["file_size"]) == (
            media_id, "image/png", len(PNG))
        download = await harness.http.get(meta["url"], headers=AUTH)
        assert download.status_code == 200
        assert download.content == PNG
        assert download.headers["content-type"] == "image/png"
        digest = base64.b64encode(hashlib.sha256(download.content).digest()).decode()
        assert digest == meta["sha256"]

    async def test_the_url_needs_the_token_and_lasts_5_minutes(self, harness: Harness) -> None:
        media_id = await upload(harness)
        url = (await harness.http.get(f"/v25.0/{media_id}", headers=AUTH)).json()["url"]
        no_token = await harness.http.get(url)
        assert (no_token.status_code, code(no_token)) == (401, 190)
        harness.clock.advance(minutes=5)
        assert (await harness.http.get(url, headers=AUTH)).status_code == 404
        fresh = (await harness.http.get(f"/v25.0/{media_id}", headers=AUTH)).json()["url"]
        assert (await harness.http.get(fresh, headers=AUTH)).status_code == 200

    async def test_an_upload_lives_30_days(self, harness: Harness) -> None:
        media_id = await upload(harness)
        harness.clock.advance(days=30)
        gone = await harness.http.get(f"/v25.0/{media_id}", headers=AUTH)
        assert (gone.status_code, code(gone), gone.json()["error"]["error_subcode"]) == (
            400, 100, 33)

    async def test_delete(self, harness: Harness) -> None:
        media_id = await upload(harness)
        url = (await harness.http.get(f"/v25.0/{media_id}", headers=AUTH)).json()["url"]
        deleted = await harness.http.delete(f"/v25.0/{media_id}", headers=AUTH)
        assert (deleted.status_code, deleted.json()) == (200, {"success": True})
        assert (await harness.http.get(f"/v25.0/{media_id}", headers=AUTH)).status_code == 400
        assert (await harness.http.get(url, headers=AUTH)).status_code == 404
        again = await harness.http.delete(f"/v25.0/{media_id}", headers=AUTH)
        assert (again.status_code, again.json()["error"]["error_subcode"]) == (400, 33)

    async def test_phone_number_id_restricts_to_that_numbers_media(
        self, harness: Harness
    ) -> None:
        media_id = await upload(harness)
        mine = await harness.http.get(f"/v25.0/{media_id}", headers=AUTH,
                                      params={"phone_number_id": NUMBER})
        assert mine.status_code == 200
        other = await harness.http.get(f"/v25.0/{media_id}", headers=AUTH,
                                       params={"phone_number_id": "100000000000002"})
        assert other.status_code == 400

    @pytest.mark.parametrize(("product", "declared", "expected"), [
        ("", "image/png", 100),
        ("sms", "image/png", 100),
        ("whatsapp", "", 100),
        ("whatsapp", "image/gif", 131053),
    ])
    async def test_refused_uploads(self, harness: Harness, product: str, declared: str,
                                   expected: int) -> None:
        body = form(messaging_product=product, type=declared)
        response = await harness.http.post(UPLOAD_URL, headers=AUTH, **body)
        assert (response.status_code, code(response)) == (400, expected)

    async def test_an_upload_without_a_file_or_not_a_form_is_100(self, harness: Harness) -> None:
        no_file = await harness.http.post(UPLOAD_URL, headers=AUTH,
                                          data={"messaging_product": "whatsapp",
                                                "type": "image/png"},
                                          files={"other": ("x", b"x", "text/plain")})
        assert code(no_file) == 100
        not_a_form = await harness.http.post(UPLOAD_URL, headers=AUTH, json={"file": "x"})
        assert code(not_a_form) == 100

    async def test_an_upload_to_an_unknown_number_is_unsupported_post(
        self, harness: Harness
    ) -> None:
        response = await harness.http.post("/v25.0/999/media", headers=AUTH, **form())
        assert (response.status_code, response.json()["error"]["error_subcode"]) == (400, 33)

    async def test_a_customers_photo_resolves_and_downloads(self, harness: Harness) -> None:
        sent = await harness.http.post("/_sandbox/customer-messages", json={
            "phone_number_id": NUMBER, "from": CUSTOMER, "type": "image",
            "content": {"caption": "the parcel"}})
        message = sent.json()["payload"]["entry"][0]["changes"][0]["value"]["messages"][0]
        media_id = message["image"]["id"]
        info = (await harness.http.get(f"/v25.0/{media_id}", headers=AUTH)).json()
        assert info["id"] == media_id
        # What the webhook announced, as Meta's agree.
        assert (info["mime_type"], info["sha256"]) == (message["image"]["mime_type"],
                                                      message["image"]["sha256"])
        photo = await harness.http.get(info["url"], headers=AUTH)
        assert photo.content.startswith(b"\x89PNG")
        assert len(photo.content) == info["file_size"]
        harness.clock.advance(days=7)
        assert (await harness.http.get(f"/v25.0/{media_id}", headers=AUTH)).status_code == 400


class TestSendsWithMedia:
    async def test_an_uploaded_media_id_goes_out(self, harness: Harness) -> None:
        await harness.customer_says()
        media_id = await upload(harness)
        assert await failure(harness, await harness.send(image(media_id))) is None

    async def test_an_unknown_media_id_is_accepted_then_fails_with_131053(
        self, harness: Harness
    ) -> None:
        await harness.customer_says()
        response = await harness.send(image("1234567890123456"))
        assert await failure(harness, response) == 131053

    async def test_a_deleted_media_id_fails_too(self, harness: Harness) -> None:
        await harness.customer_says()
        media_id = await upload(harness)
        await harness.http.delete(f"/v25.0/{media_id}", headers=AUTH)
        assert await failure(harness, await harness.send(image(media_id))) == 131053

    async def test_another_accounts_media_fails(self, harness: Harness) -> None:
        other = CHANNEL.model_copy(update={"phone_number_id": "300000000000003",
                                           "waba_id": "300000000000009",
                                           "access_token": SecretStr("other-token")})
        assert (await harness.http.put("/_sandbox/channels",
                                       json=other.to_document())).is_success
        response = await harness.http.post("/v25.0/300000000000003/media",
                                           headers={"Authorization": "Bearer other-token"},
                                           **form())
        await harness.customer_says()
        assert await failure(harness, await harness.send(image(response.json()["id"]))) == \
            131053

    async def test_a_template_header_media_id_is_checked(self, harness: Harness) -> None:
        body = template()
        body["template"]["components"] = [{"type": "header", "parameters": [
            {"type": "image", "image": {"id": "404404404"}}]}]
        assert await failure(harness, await harness.send(body)) == 131053
        body["template"]["components"][0]["parameters"][0]["image"]["id"] = \
            await upload(harness)
        assert await failure(harness, await harness.send(body)) is None

    async def test_a_link_is_taken_as_given(self, harness: Harness) -> None:
        await harness.customer_says()
        body = image("x")
        body["image"] = {"link": "https://example.com/a.png"}
        assert await failure(harness, await harness.send(body)) is None
