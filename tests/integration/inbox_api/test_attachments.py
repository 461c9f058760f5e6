"""An agent sends a file on the real stack: inbox_api uploads it to the sandbox's
``POST /{phone_number_id}/media``, publishes SendMedia with the id the sandbox returned, and the
sender sends ``image.id``; the thread shows it and the media proxy serves the uploaded bytes."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.media import placeholder_png
from tests.integration.inbox_api.stack import RunningInbox
from tests.integration.inbox_api.test_api import eventually, thread

pytestmark = pytest.mark.integration

PHOTO = placeholder_png("an agent's photo")


async def test_an_uploaded_image_is_sent_by_the_id_the_cloud_api_returned(
        inbox: RunningInbox) -> None:
    await inbox.customer_says("Can you send me a photo of the parcel?")
    cid = inbox.conversation_id()
    async with inbox.client() as http:
        answer = await http.post(f"/api/v1/conversations/{cid}/attachments",
                                 files={"file": ("parcel.png", PHOTO, "image/png")},
                                 data={"caption": "Your parcel"},
                                 headers={"Idempotency-Key": "photo-1"})
        assert answer.status_code == 202, answer.text

        async def sent_image() -> dict[str, Any] | None:
            out = [m for m in await thread(http, cid) if m["direction"] == "outbound"]
            return out[0] if out and out[0]["status"] in ("delivered", "read") else None

        message = await eventually(sent_image)
        assert message["type"] == "image"
        assert message["media"]["caption"] == "Your parcel"
        media_id = message["media"]["id"]
        # The sandbox accepted a send whose image is the uploaded id (never a link).
        [send] = [r for r in await inbox.sandbox.accepted(inbox.channel.phone_number_id)
                  if r.body.get("type") == "image"]
        assert send.body["image"] == {"id": media_id, "caption": "Your parcel"}
        # The proxy finds the outbound message's media id and serves what was uploaded.
        served = await http.get(message["media"]["url"])
        assert served.status_code == 200, served.text
        assert served.content == PHOTO
        assert served.headers["content-type"] == "image/png"
        async with inbox.client(inbox.other_key) as other:
            assert (await other.get(message["media"]["url"])).status_code == 404


async def test_a_file_whatsapp_does_not_take_is_refused_before_any_upload(
        inbox: RunningInbox) -> None:
    await inbox.customer_says("Hi")
    cid = inbox.conversation_id()
    async with inbox.client() as http:
        answer = await http.post(f"/api/v1/conversations/{cid}/attachments",
                                 files={"file": ("cat.gif", b"GIF89a...", "image/gif")})
        assert answer.status_code == 415
        assert "image/gif" in answer.json()["detail"]
    assert await inbox.sandbox.received(inbox.channel.phone_number_id) == []
