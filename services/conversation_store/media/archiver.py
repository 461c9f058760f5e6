"""The media archiver: a customer's media is downloaded from Meta when it arrives and kept.

It is the BatchConsumer handler of its own consumer group (``conversation-store-media``) on
``whatsapp.inbound.v1`` (media messages) and ``inbox.commands.v1`` (an agent's
``RetryMediaDownload``). For each media, in a batch at most ``concurrency`` at a time:

1. **record** it (``media_archive``, created ``pending``); a stored one is done, and a failed or
   refused one is left as it is unless an agent asked to retry (a replayed record changes
   nothing);
2. **check** the MIME type the message announced against the policy (rules.py);
3. **download** with the number's token, checking Meta's type and size before any byte is kept
   and capping the stream at the kind's limit while it is stored (GridFS by default);
4. **record the outcome**: stored (size, SHA-256, where), refused (``too_large`` or
   ``disallowed_type``, with the reason an agent reads), or failed (with Meta's or the network's
   reason). A transient failure is retried after the shared backoff, a bounded number of times.

Nothing here stops the partition for a media: every expected failure ends on the record (and
is counted), and an unexpected one too, logged. Only an outage of MongoDB (or the broker)
propagates, so BatchConsumer retries the batch until it is back; every step is idempotent.

Decoding (:data:`ARCHIVER_EVENTS`) reads only what the archiver acts on; every other record of
the two topics decodes as :class:`Ignored`, so the archiver neither depends on the rest of the
contracts nor dead-letters what the store already does.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import Discriminator, Tag, TypeAdapter

from services.conversation_store.media.metrics import (
    ARCHIVE_SECONDS,
    ARCHIVED,
    ARCHIVED_BYTES,
    DOWNLOAD_RETRIES,
    NOT_ARCHIVED,
)
from services.conversation_store.media.ports import (
    ArchiveRecords,
    BlobStore,
    Channels,
    MediaFetcher,
)
from services.conversation_store.media.rules import (
    MediaPolicy,
    MediaRef,
    Refusal,
    RetrySchedule,
    media_of,
    too_large,
)
from shared.channels import Channel
from shared.cloud_media import MediaGone, MediaRefused, MediaUnavailable
from shared.consumer import Received, default_is_transient
from shared.events import MessageReceived, RetryMediaDownload
from shared.events.base import Contract
from shared.media_archive import ArchivedMedia, ArchiveStatus

log = logging.getLogger(__name__)


class Ignored(Contract):
    """Any other record of the two topics: nothing to archive."""

    type: str | None = None


def _kind(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in ("message.received", "command.retry_media") else "other"


ArchiverEvent = Annotated[
    Annotated[MessageReceived, Tag("message.received")]
    | Annotated[RetryMediaDownload, Tag("command.retry_media")]
    | Annotated[Ignored, Tag("other")],
    Discriminator(_kind),
]
ARCHIVER_EVENTS: TypeAdapter[ArchiverEvent] = TypeAdapter(ArchiverEvent)


class FileTooLarge(Exception):
    """The download passed the kind's limit while it streamed."""


@dataclass(frozen=True, slots=True)
class Stored:
    size: int
    sha256: str
    mime_type: str


class _Counted:
    """The body as it streams, hashed and counted, cut off past ``limit`` bytes."""

    def __init__(self, body: AsyncIterator[bytes], limit: int) -> None:
        self.body = body
        self.limit = limit
        self.size = 0
        self.digest = hashlib.sha256()

    async def chunks(self) -> AsyncIterator[bytes]:
        async for chunk in self.body:
            self.size += len(chunk)
            if self.size > self.limit:
                raise FileTooLarge
            self.digest.update(chunk)
            yield chunk


class MediaArchiver:
    """The use case, and the BatchConsumer handler of the archiver's group."""

    decode: ClassVar[TypeAdapter[ArchiverEvent]] = ARCHIVER_EVENTS

    def __init__(self, records: ArchiveRecords, blobs: BlobStore, fetcher: MediaFetcher,
                 channels: Channels, policy: MediaPolicy, schedule: RetrySchedule, *,
                 concurrency: int, clock: Callable[[], datetime],
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 rng: Callable[[], float] = random.random) -> None:
        self.records = records
        self.blobs = blobs
        self.fetcher = fetcher
        self.channels = channels
        self.policy = policy
        self.schedule = schedule
        self.clock = clock
        self.sleep = sleep
        self.rng = rng
        self._slots = asyncio.Semaphore(concurrency)

    async def __call__(self, batch: list[Received[Any]]) -> None:
        jobs: dict[tuple[str, str], tuple[MediaRef, bool]] = {}
        for received in batch:
            ref = media_of(received.event)
            if ref is None:
                continue
            retry = isinstance(received.event, RetryMediaDownload)
            key = (ref.tenant_id, ref.media_id)
            jobs[key] = (ref, retry or (key in jobs and jobs[key][1]))
        if not jobs:
            return
        try:
            async with asyncio.TaskGroup() as group:
                for ref, retry in jobs.values():
                    group.create_task(self._guarded(ref, retry))
        except BaseExceptionGroup as failed:
            # One outage ends the batch (the others were cancelled); BatchConsumer retries it.
            raise failed.exceptions[0] from None

    async def _guarded(self, ref: MediaRef, retry: bool) -> None:
        async with self._slots:
            try:
                await self.archive(ref, retry=retry)
            except Exception as exc:
                if default_is_transient(exc):
                    raise
                log.exception("media archiving failed unexpectedly", extra=_context(ref))
                record = await self.records.begin(ref, self.clock(), retry=False)
                await self._fail(record, "error", "the archive met an unexpected error; retry "
                                 "it, or ask an operator to read the archiver's log",
                                 record.attempts)

    async def archive(self, ref: MediaRef, *, retry: bool = False) -> None:
        """One media, from its record to its outcome (see the module docstring)."""
        record = await self.records.begin(ref, self.clock(), retry=retry)
        if record.status is ArchiveStatus.STORED or (
                record.status is not ArchiveStatus.PENDING and not retry):
            return  # already decided: a replay, or a retry of stored media
        refusal = self.policy.check_type(ref.media_type, ref.mime_type)
        if refusal is not None:
            await self._refuse(record, refusal, record.attempts, ref.mime_type)
            return
        channel = await self.channels.find(ref.business_phone_number_id)
        if channel is None or channel.tenant_id != ref.tenant_id:
            await self._fail(record, "no_channel", f"the business number "
                             f"{ref.business_phone_number_id} has no channel (no access token "
                             "to download with)", record.attempts)
            return
        await self._download_with_retries(record, ref, channel)

    async def _download_with_retries(self, record: ArchivedMedia, ref: MediaRef,
                                     channel: Channel) -> None:
        started = time.perf_counter()
        attempts, failures = record.attempts, 0
        while True:
            attempts += 1
            try:
                outcome = await self._download(record, ref, channel)
            except MediaUnavailable as exc:
                failures += 1
                delay = self.schedule.delay(failures, self.rng)
                if delay is None:
                    await self._fail(record, "unavailable", f"the download failed {failures} "
                                     f"times; the last time {exc}", attempts)
                    break
                DOWNLOAD_RETRIES.inc()
                log.info("media download failed; retrying",
                         extra={**_context(ref), "attempt": attempts, "error": str(exc),
                                "delay_seconds": round(delay, 2)})
                await self.sleep(delay)
                continue
            except MediaGone as exc:
                await self._fail(record, "gone", str(exc), attempts)
                break
            except MediaRefused as exc:
                await self._fail(record, "refused", str(exc), attempts)
                break
            if isinstance(outcome, Refusal):
                await self._refuse(record, outcome, attempts, ref.mime_type)
            else:
                await self.records.stored(
                    record.id, size=outcome.size, sha256=outcome.sha256,
                    mime_type=outcome.mime_type, storage=self.blobs.storage,
                    location=record.id, attempts=attempts, now=self.clock())
                ARCHIVED.labels(ref.media_type).inc()
                ARCHIVED_BYTES.labels(ref.media_type).inc(outcome.size)
                log.info("media archived", extra={**_context(ref), "size": outcome.size,
                                                  "attempts": attempts})
            break
        ARCHIVE_SECONDS.observe(time.perf_counter() - started)

    async def _download(self, record: ArchivedMedia, ref: MediaRef,
                        channel: Channel) -> Stored | Refusal:
        kind = ref.media_type
        async with self.fetcher.open(channel, ref.media_id) as stream:
            refusal = (self.policy.check_type(kind, stream.mime_type)
                       or self.policy.check_download_type(kind, stream.content_type)
                       or self.policy.check_size(kind, stream.file_size)
                       or self.policy.check_size(kind, stream.content_length))
            if refusal is not None:
                return refusal
            limit = self.policy.limit(kind)
            counted = _Counted(stream.body, limit)
            try:
                await self.blobs.put(record.id, counted.chunks(),
                                     filename=ref.filename or ref.media_id,
                                     metadata={"tenant_id": ref.tenant_id,
                                               "media_id": ref.media_id,
                                               "mime_type": stream.mime_type})
            except FileTooLarge:
                return too_large(kind, counted.size, limit, at_least=True)
            return Stored(counted.size, counted.digest.hexdigest(), stream.mime_type)

    async def _refuse(self, record: ArchivedMedia, refusal: Refusal, attempts: int,
                      mime_type: str | None) -> None:
        await self.records.unsuccessful(record.id, status=refusal.status, reason=refusal.reason,
                                        attempts=attempts, now=self.clock(), size=refusal.size,
                                        limit=refusal.limit, mime_type=mime_type)
        NOT_ARCHIVED.labels(refusal.status.value).inc()
        log.warning("media refused", extra={**_record_context(record), "status": refusal.status,
                                            "reason": refusal.reason})

    async def _fail(self, record: ArchivedMedia, reason_label: str, reason: str,
                    attempts: int) -> None:
        await self.records.unsuccessful(record.id, status=ArchiveStatus.FAILED, reason=reason,
                                        attempts=attempts, now=self.clock())
        NOT_ARCHIVED.labels(reason_label).inc()
        log.warning("media not archived", extra={**_record_context(record), "reason": reason,
                                                 "attempts": attempts})


def _context(ref: MediaRef) -> dict[str, Any]:
    return {"tenant_id": ref.tenant_id, "conversation_id": ref.conversation_id,
            "media_id": ref.media_id, "wamid": ref.message_wamid}


def _record_context(record: ArchivedMedia) -> dict[str, Any]:
    return {"tenant_id": record.tenant_id, "conversation_id": record.conversation_id,
            "media_id": record.media_id, "wamid": record.message_wamid}
