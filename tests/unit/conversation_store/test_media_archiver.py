"""The media archiver (media/archiver.py) on hand-written fakes of its ports: what it stores, what
it refuses and why, how it retries, and that nothing a media does stops the consumer."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr
from pymongo.errors import ConnectionFailure

from services.conversation_store.media.archiver import ARCHIVER_EVENTS, Ignored, MediaArchiver
from services.conversation_store.media.rules import (
    DEFAULT_ALLOWED_TYPES,
    DEFAULT_MAX_BYTES,
    MB,
    MediaPolicy,
    MediaRef,
    RetrySchedule,
)
from shared.channels import Channel
from shared.cloud_media import MediaGone, MediaRefused, MediaStream, MediaUnavailable
from shared.consumer import Received
from shared.events import (
    InboundMessage,
    MessageReceived,
    MessageStatusChanged,
    RetryMediaDownload,
    StatusUpdate,
)
from shared.media_archive import ArchivedMedia, ArchiveStatus, archive_id

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CID = "1001:16505550123"
ACME = Channel(phone_number_id="1001", tenant_id="acme", waba_id="2001",
               access_token=SecretStr("acme-token"))
PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


# -- fakes ---------------------------------------------------------------------------------------


class FakeRecords:
    """``media_archive`` in a dict, with the Mongo adapter's conditions."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.fail_with: BaseException | None = None

    async def begin(self, ref: MediaRef, now: datetime, *, retry: bool) -> ArchivedMedia:
        if self.fail_with is not None:
            raise self.fail_with
        key = archive_id(ref.tenant_id, ref.media_id)
        doc = self.docs.setdefault(key, {
            "_id": key, "tenant_id": ref.tenant_id, "media_id": ref.media_id,
            "conversation_id": ref.conversation_id, "message_wamid": ref.message_wamid,
            "business_phone_number_id": ref.business_phone_number_id,
            "media_type": ref.media_type, "mime_type": ref.mime_type, "filename": ref.filename,
            "meta_sha256": ref.sha256, "status": "pending", "attempts": 0, "created_at": now,
            "updated_at": now})
        if retry and doc["status"] != "stored":
            doc.update(status="pending", reason=None, limit=None)
        return ArchivedMedia.model_validate(doc)

    async def stored(self, record_id: str, *, size: int, sha256: str, mime_type: str,
                     storage: str, location: str, attempts: int, now: datetime) -> None:
        self.docs[record_id].update(status="stored", reason=None, size=size, sha256=sha256,
                                    mime_type=mime_type, storage=storage, location=location,
                                    attempts=attempts, stored_at=now)

    async def unsuccessful(self, record_id: str, *, status: ArchiveStatus, reason: str,
                           attempts: int, now: datetime, size: int | None = None,
                           limit: int | None = None, mime_type: str | None = None) -> None:
        doc = self.docs[record_id]
        if doc["status"] != "stored":
            doc.update(status=status.value, reason=reason, attempts=attempts, size=size,
                       limit=limit)

    def record(self, media_id: str = "555") -> dict[str, Any]:
        return self.docs[archive_id("acme", media_id)]


class FakeBlobs:
    storage = "memory"

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.fail_with: BaseException | None = None

    async def put(self, key: str, chunks: AsyncIterator[bytes], *, filename: str,
                  metadata: Mapping[str, str]) -> None:
        self.files.pop(key, None)
        if self.fail_with is not None:
            raise self.fail_with
        data = b"".join([chunk async for chunk in chunks])  # an error leaves nothing
        self.files[key] = data


@dataclass
class File:
    """What the Cloud API answers for a media: Meta's metadata, then the bytes."""

    data: bytes = PHOTO
    mime_type: str = "image/jpeg"
    file_size: int | None = -1  # -1: the data's length
    content_type: str | None = "image/jpeg"
    read: int = 0  # bytes the archiver pulled


@dataclass
class FakeFetcher:
    """Answers each open with the next of ``answers`` (an error, or a file), the last forever."""

    answers: list[BaseException | File] = field(default_factory=lambda: [File()])
    opened: list[tuple[str, str]] = field(default_factory=list)
    open_now: int = 0
    most_open: int = 0
    hold: asyncio.Event | None = None

    @asynccontextmanager
    async def open(self, channel: Channel, media_id: str) -> AsyncIterator[MediaStream]:
        self.opened.append((channel.access_token.get_secret_value(), media_id))
        answer = self.answers[min(len(self.opened), len(self.answers)) - 1]
        if isinstance(answer, BaseException):
            raise answer
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            if self.hold is not None:
                await self.hold.wait()

            async def body() -> AsyncIterator[bytes]:
                for start in range(0, len(answer.data), 1000):
                    piece = answer.data[start:start + 1000]
                    answer.read += len(piece)
                    yield piece

            size = len(answer.data) if answer.file_size == -1 else answer.file_size
            yield MediaStream(media_id=media_id, mime_type=answer.mime_type, file_size=size,
                              sha256=None, content_type=answer.content_type,
                              content_length=None, body=body())
        finally:
            self.open_now -= 1


class FakeChannels:
    def __init__(self, *channels: Channel) -> None:
        self.channels = {c.phone_number_id: c for c in channels}

    async def find(self, phone_number_id: str) -> Channel | None:
        return self.channels.get(phone_number_id)


@dataclass
class Rig:
    archiver: MediaArchiver
    records: FakeRecords
    blobs: FakeBlobs
    fetcher: FakeFetcher
    sleeps: list[float]

    async def handle(self, *events: Any) -> None:
        await self.archiver([Received(e, "whatsapp.inbound.v1", 0, n, None, b"")
                             for n, e in enumerate(events)])


def rig(*answers: BaseException | File, policy: MediaPolicy | None = None,
        attempts: int = 3, concurrency: int = 4,
        channels: Sequence[Channel] = (ACME,)) -> Rig:
    records, blobs = FakeRecords(), FakeBlobs()
    fetcher = FakeFetcher(list(answers) or [File()])
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    archiver = MediaArchiver(
        records, blobs, fetcher, FakeChannels(*channels),
        policy or MediaPolicy.of(DEFAULT_MAX_BYTES, DEFAULT_ALLOWED_TYPES),
        RetrySchedule(attempts=attempts, base_seconds=1.0, max_seconds=8.0),
        concurrency=concurrency, clock=lambda: AT, sleep=sleep, rng=lambda: 0.0)
    return Rig(archiver, records, blobs, fetcher, sleeps)


def photo(media_id: str = "555", kind: str = "image", mime: str = "image/jpeg",
          number: str = "1001") -> MessageReceived:
    return MessageReceived(
        occurred_at=AT, tenant_id="acme", conversation_id=CID,
        payload=InboundMessage(wamid=f"wamid.{media_id}", message_type=kind, sent_at=AT,
                               business_phone_number_id=number, from_wa_id="16505550123",
                               content={"id": media_id, "mime_type": mime, "sha256": "x="}))


def retry(media_id: str = "555") -> RetryMediaDownload:
    return RetryMediaDownload(occurred_at=AT, tenant_id="acme", conversation_id=CID,
                              command_id=f"retry-{media_id}", business_phone_number_id="1001",
                              media_id=media_id, message_wamid=f"wamid.{media_id}",
                              media_type="image", mime_type="image/jpeg")


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# -- tests ---------------------------------------------------------------------------------------


class TestArchiving:
    async def test_a_customers_photo_is_stored_with_its_size_and_hash(self) -> None:
        r = rig()
        before = counted("inbox_media_archived_total", media_type="image")
        await r.handle(photo())
        doc = r.records.record()
        assert doc["status"] == "stored"
        assert doc["size"] == len(PHOTO)
        assert doc["sha256"] == hashlib.sha256(PHOTO).hexdigest()
        assert (doc["storage"], doc["location"], doc["attempts"]) == ("memory", "acme/555", 1)
        assert doc["meta_sha256"] == "x="
        assert r.blobs.files["acme/555"] == PHOTO
        assert r.fetcher.opened == [("acme-token", "555")]
        assert counted("inbox_media_archived_total", media_type="image") == before + 1

    async def test_a_replay_downloads_nothing_again(self) -> None:
        r = rig()
        await r.handle(photo())
        await r.handle(photo(), retry())
        assert len(r.fetcher.opened) == 1

    async def test_messages_without_media_are_left_alone(self) -> None:
        r = rig()
        status = MessageStatusChanged(occurred_at=AT, tenant_id="acme", conversation_id=CID,
                                      payload=StatusUpdate(wamid="w", status="read", at=AT,
                                                           business_phone_number_id="1001",
                                                           recipient_wa_id="16505550123"))
        await r.handle(status, Ignored(type="command.assign"))
        assert r.records.docs == {}
        assert r.fetcher.opened == []

    async def test_downloads_run_at_most_concurrency_at_a_time(self) -> None:
        r = rig(concurrency=2)
        r.fetcher.hold = asyncio.Event()
        batch = asyncio.create_task(r.handle(*(photo(str(n)) for n in range(5))))
        for _ in range(50):  # let every job run as far as it can
            await asyncio.sleep(0)
        assert len(r.fetcher.opened) == 2
        r.fetcher.hold.set()
        await batch
        assert r.fetcher.most_open == 2
        assert len(r.blobs.files) == 5


class TestRefusals:
    async def test_a_disallowed_type_is_refused_before_any_download(self) -> None:
        r = rig()
        before = counted("inbox_media_not_archived_total", reason="disallowed_type")
        await r.handle(photo(kind="document", mime="application/x-msdownload"))
        doc = r.records.record()
        assert doc["status"] == "disallowed_type"
        assert doc["reason"] == "type application/x-msdownload is not allowed for documents"
        assert r.fetcher.opened == []
        assert counted("inbox_media_not_archived_total", reason="disallowed_type") == before + 1

    async def test_metas_own_type_is_checked_too(self) -> None:
        r = rig(File(mime_type="application/x-msdownload", content_type=None))
        await r.handle(photo(kind="document", mime="application/pdf"))
        assert r.records.record()["status"] == "disallowed_type"
        assert r.blobs.files == {}

    async def test_a_file_over_the_limit_by_metas_size_is_refused_unread(self) -> None:
        r = rig(File(file_size=6 * MB))
        before = counted("inbox_media_not_archived_total", reason="too_large")
        await r.handle(photo())
        doc = r.records.record()
        assert doc["status"] == "too_large"
        assert doc["reason"] == "too large (6 MB; the limit for images is 5 MB)"
        assert (doc["size"], doc["limit"]) == (6 * MB, 5 * MB)
        assert r.fetcher.answers[0].read == 0  # type: ignore[union-attr]
        assert counted("inbox_media_not_archived_total", reason="too_large") == before + 1

    async def test_a_file_that_grows_past_the_limit_is_cut_and_nothing_kept(self) -> None:
        policy = MediaPolicy.of({"image": 2048}, ["image/*"])
        big = File(data=bytes(5000), file_size=None)
        r = rig(big, policy=policy)
        await r.handle(photo())
        doc = r.records.record()
        assert doc["status"] == "too_large"
        assert doc["reason"] == "too large (over 2 KB; the limit for images is 2 KB)"
        assert big.read <= 3000
        assert r.blobs.files == {}


class TestFailures:
    async def test_a_transient_failure_is_retried_with_backoff(self) -> None:
        r = rig(MediaUnavailable("the Cloud API answered 503"), File())
        before = counted("inbox_media_download_retries_total")
        await r.handle(photo())
        doc = r.records.record()
        assert (doc["status"], doc["attempts"]) == ("stored", 2)
        assert r.sleeps == [0.5]
        assert counted("inbox_media_download_retries_total") == before + 1

    async def test_failures_that_persist_are_recorded_with_the_last_reason(self) -> None:
        r = rig(MediaUnavailable("the Cloud API answered 503 to the media download"),
                attempts=3)
        before = counted("inbox_media_not_archived_total", reason="unavailable")
        await r.handle(photo())
        doc = r.records.record()
        assert doc["status"] == "failed"
        assert doc["reason"] == ("the download failed 3 times; the last time the Cloud API "
                                 "answered 503 to the media download")
        assert doc["attempts"] == 3
        assert r.sleeps == [0.5, 1.0]
        assert counted("inbox_media_not_archived_total", reason="unavailable") == before + 1

    @pytest.mark.parametrize(("error", "label"), [
        (MediaGone("WhatsApp no longer has this media (it expired or was deleted)"), "gone"),
        (MediaRefused("the number's access token was refused", 190), "refused")])
    async def test_a_permanent_failure_is_not_retried(self, error: Exception,
                                                      label: str) -> None:
        r = rig(error)
        before = counted("inbox_media_not_archived_total", reason=label)
        await r.handle(photo())
        doc = r.records.record()
        assert (doc["status"], doc["reason"], doc["attempts"]) == ("failed", str(error), 1)
        assert r.sleeps == []
        assert counted("inbox_media_not_archived_total", reason=label) == before + 1

    async def test_a_number_without_a_channel_fails_visibly(self) -> None:
        r = rig(channels=())
        await r.handle(photo())
        doc = r.records.record()
        assert doc["status"] == "failed"
        assert "1001 has no channel" in doc["reason"]

    async def test_a_replayed_failure_stays_failed_until_an_agent_retries(self) -> None:
        r = rig(MediaGone("gone"), File())
        await r.handle(photo())
        await r.handle(photo())
        assert len(r.fetcher.opened) == 1
        await r.handle(retry())
        doc = r.records.record()
        assert (doc["status"], doc["reason"], doc["attempts"]) == ("stored", None, 2)

    async def test_a_refusal_can_be_retried_after_the_limit_changed(self) -> None:
        r = rig(policy=MediaPolicy.of({"image": 10}, ["image/*"]))
        await r.handle(photo())
        assert r.records.record()["status"] == "too_large"
        r.archiver.policy = MediaPolicy.of(DEFAULT_MAX_BYTES, DEFAULT_ALLOWED_TYPES)
        await r.handle(retry())
        assert r.records.record()["status"] == "stored"

    async def test_an_unexpected_error_is_recorded_and_the_batch_goes_on(self) -> None:
        r = rig()
        r.blobs.fail_with = ValueError("a bug")
        await r.handle(photo("1"), photo("2"))
        for media_id in ("1", "2"):
            doc = r.records.record(media_id)
            assert doc["status"] == "failed"
            assert "unexpected error" in doc["reason"]

    async def test_a_database_outage_fails_the_batch_so_it_is_retried(self) -> None:
        r = rig()
        r.records.fail_with = ConnectionFailure("down")
        with pytest.raises(ConnectionFailure):
            await r.handle(photo("1"), photo("2"))


class TestDecoding:
    def test_only_media_messages_and_retries_decode_fully(self) -> None:
        assert isinstance(ARCHIVER_EVENTS.validate_json(photo().to_bytes()), MessageReceived)
        assert isinstance(ARCHIVER_EVENTS.validate_json(retry().to_bytes()),
                          RetryMediaDownload)
        other = ARCHIVER_EVENTS.validate_json(b'{"type": "status.changed", "payload": {}}')
        assert other == Ignored(type="status.changed")
