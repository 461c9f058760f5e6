"""Media that outlives Meta, on the real stack (docs/media.md): a customer's photo is archived
on arrival by conversation_store's media archiver and still served by inbox_api after the
sandbox (Meta) expired its copy; a file over the limit or of a disallowed type is refused with a
visible reason on the message and counted, and the archiver goes on."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from tests.integration.inbox_api.stack import CUSTOMER, RunningInbox
from tests.integration.inbox_api.test_api import eventually, thread

pytestmark = pytest.mark.integration

MB = 1024 * 1024


async def customer_sends(inbox: RunningInbox, kind: str, content: dict[str, Any] | None = None,
                         **extra: Any) -> str:
    """The customer sends a media message; its media id."""
    result = await inbox.sandbox.customer_sends(inbox.channel.phone_number_id, CUSTOMER, kind,
                                                content, **extra)
    message = result.payload["entry"][0]["changes"][0]["value"]["messages"][0]
    media_id: str = message[kind]["id"]
    return media_id


async def archive_record(inbox: RunningInbox, media_id: str,
                         done: frozenset[str] = frozenset({"stored", "failed", "too_large",
                                                           "disallowed_type"}),
                         ) -> dict[str, Any]:
    """The media's archive record once the archiver decided."""

    async def decided() -> dict[str, Any] | None:
        doc = await inbox.db["media_archive"].find_one(
            {"tenant_id": inbox.channel.tenant_id, "media_id": media_id})
        return doc if doc is not None and doc["status"] in done else None

    return await eventually(decided)


async def media_of(http: httpx.AsyncClient, cid: str, media_id: str) -> dict[str, Any]:
    """The message's ``media`` as the thread shows it."""
    items = await thread(http, cid)
    [found] = [m["media"] for m in items if (m.get("media") or {}).get("id") == media_id]
    media: dict[str, Any] = found
    return media


def counted(reason: str) -> float:
    return REGISTRY.get_sample_value("inbox_media_not_archived_total", {"reason": reason}) or 0.0


async def test_a_photo_archived_on_arrival_is_served_after_meta_expired_it(
        inbox: RunningInbox) -> None:
    media_id = await customer_sends(inbox, "image", {"caption": "the parcel"})
    record = await archive_record(inbox, media_id)
    assert record["status"] == "stored", record
    cid = inbox.conversation_id()
    async with inbox.client() as http:
        before = await http.get(f"/api/v1/media/{media_id}")
        assert before.status_code == 200, before.text
        assert hashlib.sha256(before.content).hexdigest() == record["sha256"]
        assert record["size"] == len(before.content)

        # Meta's copy ends (as after its retention): the sandbox no longer knows the id.
        await inbox.sandbox.expire_media(media_id)
        token = {"Authorization": f"Bearer {inbox.channel.access_token.get_secret_value()}"}
        async with httpx.AsyncClient() as meta:
            gone = await meta.get(f"{inbox.sandbox.cloud_api_base_url}/{media_id}",
                                  headers=token)
        assert gone.status_code == 400

        after = await http.get(f"/api/v1/media/{media_id}")
        assert after.status_code == 200, after.text
        assert hashlib.sha256(after.content).hexdigest() == record["sha256"]
        assert after.content == before.content
        assert after.headers["content-type"] == "image/jpeg"
        media = await media_of(http, cid, media_id)
        assert media["archive"]["status"] == "stored"
        # Still only the tenant's.
        async with inbox.client(inbox.other_key) as other:
            assert (await other.get(f"/api/v1/media/{media_id}")).status_code == 404


async def test_too_large_or_disallowed_files_are_refused_visibly_and_counted(
        inbox: RunningInbox) -> None:
    too_large_before, disallowed_before = counted("too_large"), counted("disallowed_type")
    big = await customer_sends(inbox, "image", media_bytes=6 * MB)
    program = await customer_sends(inbox, "document", {"mime_type": "application/x-msdownload",
                                                       "filename": "setup.exe"})
    big_record = await archive_record(inbox, big)
    program_record = await archive_record(inbox, program)
    assert (big_record["status"], big_record["size"], big_record["limit"]) == (
        "too_large", 6 * MB, 5 * MB)
    assert program_record["status"] == "disallowed_type"
    assert counted("too_large") == too_large_before + 1
    assert counted("disallowed_type") == disallowed_before + 1
    assert await inbox.db["media_files.files"].count_documents({}) == 0

    cid = inbox.conversation_id()
    async with inbox.client() as http:
        media = await media_of(http, cid, big)
        assert media["archive"] == {
            "status": "too_large", "reason": "too large (6 MB; the limit for images is 5 MB)",
            "size": 6 * MB, "limit": 5 * MB, "retryable": True}
        media = await media_of(http, cid, program)
        assert media["archive"]["status"] == "disallowed_type"
        assert media["archive"]["reason"] == (
            "type application/x-msdownload is not allowed for documents")

        # An agent asks again: the archiver decides again (the same, under the same limits).
        answer = await http.post(f"/api/v1/media/{program}/retry")
        assert answer.status_code == 202, answer.text

        async def decided_again() -> dict[str, Any] | None:
            doc = await inbox.db["media_archive"].find_one({"_id": program_record["_id"]})
            return doc if doc and doc["updated_at"] > program_record["updated_at"] and \
                doc["status"] == "disallowed_type" else None

        await eventually(decided_again)

    # The archiver goes on: the next photo is stored.
    photo = await customer_sends(inbox, "image")
    assert (await archive_record(inbox, photo))["status"] == "stored"
