"""Media through pywa: upload, the download URL, the bytes, deletion, and a customer's media.

Meta's reference (``WA/business-phone-numbers/media``): ``POST /{phone_number_id}/media``
answers ``{id}``; ``GET /{media_id}`` answers ``{messaging_product, url, mime_type, sha256,
file_size, id}``; the URL serves the file to the same bearer token only; ``DELETE /{media_id}``
answers ``{success: true}``, after which the id is unknown (error 100).
"""

from __future__ import annotations

import base64
import hashlib

import httpx
import pytest
from pywa.errors import WhatsAppError
from pywa_async.client import WhatsApp
from pywa_async.types.message import Message

from sandbox.testing import SandboxClient
from tests.contract.business import CUSTOMER, PHONE_NUMBER_ID
from tests.contract.media_files import FILES, upload
from tests.contract.webhook_inbox import WebhookInbox


class TestUploadedMedia:
    @pytest.mark.parametrize("kind", list(FILES))
    async def test_upload_then_url_then_the_same_bytes(self, kind: str, sandbox: SandboxClient,
                                                       wa: WhatsApp) -> None:
        file = FILES[kind]
        media_id = await upload(wa, kind)
        assert media_id.isdigit()

        info = await wa.get_media_url(media_id)
        assert info.id == media_id
        assert info.mime_type == file.mime_type
        assert info.file_size == len(file.content)
        assert info.url.startswith(("http://", "https://"))
        assert await wa.get_media_bytes(info.url) == file.content
        digest = hashlib.sha256(file.content).digest()
        assert info.sha256 in (digest.hex(), base64.b64encode(digest).decode())

    async def test_the_url_needs_the_token(self, sandbox: SandboxClient, wa: WhatsApp) -> None:
        info = await wa.get_media_url(await upload(wa, "image"))
        async with httpx.AsyncClient() as anonymous:
            response = await anonymous.get(info.url)
        assert response.status_code in (401, 403, 404)
        assert response.content != FILES["image"].content

    async def test_delete_then_the_id_is_gone(self, sandbox: SandboxClient, wa: WhatsApp) -> None:
        media_id = await upload(wa, "document")
        result = await wa.delete_media(media_id)
        assert result.success is True
        with pytest.raises(WhatsAppError) as gone:
            await wa.get_media_url(media_id)
        assert gone.value.code == 100

    async def test_delete_scoped_to_the_number_it_was_uploaded_to(
            self, sandbox: SandboxClient, wa: WhatsApp) -> None:
        media_id = await upload(wa, "audio")
        result = await wa.delete_media(media_id, phone_id=None)  # ?phone_number_id=<ours>
        assert result.success is True

    async def test_an_unknown_media_id_is_error_100(self, sandbox: SandboxClient,
                                                    wa: WhatsApp) -> None:
        with pytest.raises(WhatsAppError) as unknown:
            await wa.get_media_url("987654321012345")
        assert unknown.value.code == 100


class TestCustomerMedia:
    async def test_a_photo_the_customer_sent_downloads(self, sandbox: SandboxClient,
                                                       wa: WhatsApp,
                                                       inbox: WebhookInbox) -> None:
        sent = await sandbox.customer_sends(PHONE_NUMBER_ID, CUSTOMER, "image",
                                            {"caption": "the box"})
        message = await inbox.wait_for(Message, lambda m: m.id == sent.wamid)
        assert message.image is not None

        info = await wa.get_media_url(message.image.id)
        assert info.mime_type == message.image.mime_type  # what the webhook announced
        assert info.sha256 == message.image.sha256
        data = await wa.get_media_bytes(info.url)
        assert len(data) == info.file_size > 0
