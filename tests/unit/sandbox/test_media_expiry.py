"""The sandbox's controls for media that outlives Meta: expire one media id now
(``POST /_sandbox/media/{id}/expire``), and a customer's file of a given size
(``media_bytes``)."""

from __future__ import annotations

from typing import Any

from sandbox.media import MediaStore, placeholder_png
from tests.unit.sandbox.fakes import START
from tests.unit.sandbox.test_app import AUTH, CHANNEL, CUSTOMER, NUMBER, Harness
from tests.unit.sandbox.test_app import harness as app_harness

harness = app_harness


async def customer_photo(harness: Harness, **extra: Any) -> dict[str, Any]:
    sent = await harness.http.post("/_sandbox/customer-messages", json={
        "phone_number_id": NUMBER, "from": CUSTOMER, "type": "image", **extra})
    assert sent.status_code == 200, sent.text
    message: dict[str, Any] = sent.json()["payload"]["entry"][0]["changes"][0]["value"][
        "messages"][0]
    return message


class TestStore:
    def test_an_expired_media_is_unknown_from_then_on(self) -> None:
        store = MediaStore()
        store.register_inbound("777", CHANNEL, "image/jpeg", START)
        assert store.expire("777", START)
        assert store.get("777", START) is None
        assert not store.expire("777", START)

    def test_a_customers_file_padded_to_its_size(self) -> None:
        store = MediaStore()
        store.register_inbound("777", CHANNEL, "image/jpeg", START, size=10_000)
        item = store.get("777", START)
        assert item is not None
        data, mime = item.content()
        assert (len(data), mime) == (10_000, "image/jpeg")
        assert data.startswith(placeholder_png("777"))


class TestControl:
    async def test_expire_makes_the_id_and_its_urls_unknown(self, harness: Harness) -> None:
        media_id = (await customer_photo(harness))["image"]["id"]
        info = (await harness.http.get(f"/v25.0/{media_id}", headers=AUTH)).json()
        expired = await harness.http.post(f"/_sandbox/media/{media_id}/expire")
        assert expired.json() == {"media_id": media_id, "expired": True}
        assert (await harness.http.get(f"/v25.0/{media_id}", headers=AUTH)).status_code == 400
        assert (await harness.http.get(info["url"], headers=AUTH)).status_code == 404
        again = await harness.http.post(f"/_sandbox/media/{media_id}/expire")
        assert again.status_code == 404

    async def test_a_customers_file_of_a_given_size(self, harness: Harness) -> None:
        media_id = (await customer_photo(harness, media_bytes=6 * 1024 * 1024))["image"]["id"]
        info = (await harness.http.get(f"/v25.0/{media_id}", headers=AUTH)).json()
        assert info["file_size"] == 6 * 1024 * 1024
        photo = await harness.http.get(info["url"], headers=AUTH)
        assert len(photo.content) == 6 * 1024 * 1024
