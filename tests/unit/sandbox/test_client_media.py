"""``SandboxClient.upload_media`` against a live sandbox: the id it returns can be sent."""

from __future__ import annotations

import httpx

from sandbox.catalog import demo_channel
from sandbox.media import placeholder_png
from sandbox.testing import running_sandbox

CUSTOMER = "16505551234"


async def test_an_uploaded_file_is_sent_by_its_id() -> None:
    channel = demo_channel()
    number, token = channel.phone_number_id, channel.access_token.get_secret_value()
    async with running_sandbox(channels=[channel], webhook_url=None) as sandbox:
        media_id = await sandbox.upload_media(number, placeholder_png("x"), "image/png",
                                              filename="x.png")
        await sandbox.customer_says(number, CUSTOMER, "send me a photo")
        async with httpx.AsyncClient() as http:
            headers = {"Authorization": f"Bearer {token}"}
            info = await http.get(f"{sandbox.cloud_api_base_url}/{media_id}", headers=headers)
            assert info.json()["mime_type"] == "image/png"
            sent = await http.post(sandbox.messages_url(number), headers=headers, json={
                "messaging_product": "whatsapp", "to": CUSTOMER, "type": "image",
                "image": {"id": media_id}})
        assert sent.status_code == 200
        (accepted,) = await sandbox.accepted(number)
        assert accepted.body["image"] == {"id": media_id}
