"""A message's media and the media archive, through the real routes on fakes: archived bytes are
served without WhatsApp, only to their tenant; the thread shows the archive's state and reason;
a retry publishes RetryMediaDownload."""

from __future__ import annotations

from typing import Any

import httpx

from shared.events import RetryMediaDownload
from shared.media_archive import archive_id
from tests.unit.inbox_api.fakes import GLOBEX_KEY, NOW, Wiring

OPEN = "1001:16505550123"
PHOTO = b"\x89PNG archived"


def customer_photo(wiring: Wiring, media_id: str = "555") -> None:
    wiring.repository.messages.append({
        "_id": f"{OPEN}/w{media_id}", "tenant_id": "acme", "conversation_id": OPEN,
        "business_phone_number_id": "1001", "wamid": f"w{media_id}", "visible": True,
        "direction": "inbound", "sort_key": f"2.{media_id}", "message_type": "image",
        "content": {"id": media_id, "mime_type": "image/jpeg", "sha256": "abc="}})


def archived(wiring: Wiring, media_id: str = "555", **fields: Any) -> dict[str, Any]:
    key = archive_id("acme", media_id)
    doc = {"_id": key, "tenant_id": "acme", "media_id": media_id, "conversation_id": OPEN,
           "message_wamid": f"w{media_id}", "business_phone_number_id": "1001",
           "media_type": "image", "mime_type": "image/jpeg", "meta_sha256": "abc=",
           "status": "stored", "size": len(PHOTO), "sha256": "f" * 64, "attempts": 1,
           "storage": "gridfs", "location": key, "created_at": NOW, "updated_at": NOW,
           **fields}
    wiring.repository.archive_docs[key] = doc
    return doc


class TestServing:
    async def test_archived_media_is_served_without_asking_whatsapp(
            self, http: httpx.AsyncClient, wiring: Wiring) -> None:
        customer_photo(wiring)
        archived(wiring)
        wiring.archive.files[archive_id("acme", "555")] = PHOTO
        response = await http.get("/api/v1/media/555")
        assert response.status_code == 200
        assert response.content == PHOTO
        assert response.headers["content-type"] == "image/jpeg"
        assert response.headers["etag"] == f'"{"f" * 64}"'
        assert wiring.media.tokens == []

    async def test_another_tenant_never_gets_it(self, http: httpx.AsyncClient,
                                                wiring: Wiring) -> None:
        customer_photo(wiring)
        archived(wiring)
        wiring.archive.files[archive_id("acme", "555")] = PHOTO
        other = await http.get("/api/v1/media/555",
                               headers={"Authorization": f"Bearer {GLOBEX_KEY}"})
        assert other.status_code == 404
        assert wiring.media.tokens == []

    async def test_media_not_stored_yet_comes_from_whatsapp(self, http: httpx.AsyncClient,
                                                            wiring: Wiring) -> None:
        customer_photo(wiring)
        archived(wiring, status="pending")
        response = await http.get("/api/v1/media/555")
        assert response.content == b"media:555"
        assert wiring.media.tokens == ["acme-token"]

    async def test_a_stored_record_whose_bytes_are_missing_falls_back(
            self, http: httpx.AsyncClient, wiring: Wiring) -> None:
        customer_photo(wiring)
        archived(wiring)
        response = await http.get("/api/v1/media/555")
        assert response.content == b"media:555"


class TestThread:
    async def test_each_media_shows_its_archive_state(self, http: httpx.AsyncClient,
                                                      wiring: Wiring) -> None:
        customer_photo(wiring, "555")
        customer_photo(wiring, "556")
        customer_photo(wiring, "557")
        archived(wiring, "555")
        archived(wiring, "556", status="too_large", size=6 * 1024 * 1024,
                 limit=5 * 1024 * 1024, reason="too large (6 MB; the limit for images is 5 MB)")
        page = (await http.get(f"/api/v1/conversations/{OPEN}/messages")).json()
        media = {m["media"]["id"]: m["media"] for m in page["items"] if m.get("media")}
        assert media["555"]["archive"] == {"status": "stored", "reason": None,
                                           "size": len(PHOTO), "limit": None,
                                           "retryable": False}
        assert media["556"]["archive"] == {
            "status": "too_large", "reason": "too large (6 MB; the limit for images is 5 MB)",
            "size": 6 * 1024 * 1024, "limit": 5 * 1024 * 1024, "retryable": True}
        assert media["557"]["archive"] is None  # not seen by the archiver yet


class TestRetry:
    async def test_a_retry_carries_the_records_fields(self, http: httpx.AsyncClient,
                                                      wiring: Wiring) -> None:
        customer_photo(wiring)
        archived(wiring, status="failed", reason="the download failed 4 times")
        answer = await http.post("/api/v1/media/555/retry", headers={"Idempotency-Key": "r1"})
        assert answer.status_code == 202, answer.text
        [command] = wiring.publisher.published
        assert isinstance(command, RetryMediaDownload)
        assert (command.tenant_id, command.conversation_id, command.media_id) == (
            "acme", OPEN, "555")
        assert (command.business_phone_number_id, command.message_wamid, command.media_type,
                command.mime_type, command.sha256) == ("1001", "w555", "image", "image/jpeg",
                                                       "abc=")
        assert answer.json()["command_id"] == command.command_id

    async def test_media_older_than_the_archive_is_retried_from_its_message(
            self, http: httpx.AsyncClient, wiring: Wiring) -> None:
        customer_photo(wiring)
        answer = await http.post("/api/v1/media/555/retry")
        assert answer.status_code == 202, answer.text
        [command] = wiring.publisher.published
        assert isinstance(command, RetryMediaDownload)
        assert (command.message_wamid, command.mime_type) == ("w555", "image/jpeg")

    async def test_unknown_or_another_tenants_media_is_404(self, http: httpx.AsyncClient,
                                                          wiring: Wiring) -> None:
        customer_photo(wiring)
        assert (await http.post("/api/v1/media/999/retry")).status_code == 404
        other = await http.post("/api/v1/media/555/retry",
                                headers={"Authorization": f"Bearer {GLOBEX_KEY}"})
        assert other.status_code == 404
        assert wiring.publisher.published == []
