"""A message's media: its bytes, and an agent's retry of a media the archive could not keep.

Customers' media is downloaded into the media archive when it arrives, by conversation_store's
media archiver (docs/media.md). The bytes are served from the archive when it holds them, so a
thread keeps its images and documents after WhatsApp dropped its copy; otherwise (not archived
yet, refused, failed, or older than the archive) they are fetched from WhatsApp now with the
number's token, as long as WhatsApp still has them. Either way only the tenant's own media: the
archive record's id names the tenant, and the fallback needs a message of the tenant's.

A retry publishes ``RetryMediaDownload`` (the archiver is the archive's only writer), with the
fields from the archive record, else from the message that carries the media.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass, field

from services.inbox_api.accounts.credentials import Identity
from services.inbox_api.conversations.commands import command_id_for
from services.inbox_api.conversations.ports import (
    Clock,
    CommandPublisher,
    InboxRepository,
    MediaArchive,
    MediaDownload,
    MediaSource,
)
from services.inbox_api.conversations.schemas import CommandAccepted
from services.inbox_api.errors import NotFound
from services.inbox_api.metrics import COMMANDS, MEDIA_SERVED
from shared.events import RetryMediaDownload
from shared.media_archive import ArchivedMedia, ArchiveStatus

# Archived bytes never change; WhatsApp's may be gone in minutes (its URLs expire in 5).
ARCHIVED_CACHE = "private, max-age=86400"
FETCHED_CACHE = "private, max-age=300"


@dataclass(frozen=True, slots=True)
class Served:
    """An open media download and the response headers it goes with."""

    download: MediaDownload
    headers: dict[str, str] = field(default_factory=dict)


class InboxMedia:
    """The media use cases: serve a media's bytes, and ask for one to be archived again."""

    def __init__(self, repository: InboxRepository, publisher: CommandPublisher, clock: Clock,
                 source: MediaSource, archive: MediaArchive | None = None) -> None:
        self.repository = repository
        self.publisher = publisher
        self.clock = clock
        self.source = source
        self.archive = archive

    async def open(self, who: Identity, media_id: str, stack: AsyncExitStack) -> Served:
        """The media's bytes; WhatsApp's download stays open until ``stack`` closes."""
        record = await self._record(who, media_id)
        if (record is not None and record.status is ArchiveStatus.STORED
                and self.archive is not None):
            stored = await self.archive.open(record)
            if stored is not None:
                MEDIA_SERVED.labels("archive").inc()
                return Served(stored, _headers(stored, ARCHIVED_CACHE,
                                               etag=f'"{record.sha256}"' if record.sha256
                                               else None))
        number = await self.repository.media_owner(who.tenant_id, media_id)
        channel = await self.repository.channel(number) if number else None
        if channel is None or channel.tenant_id != who.tenant_id:
            raise NotFound("No such media.", code="media_not_found")
        download = await stack.enter_async_context(self.source.download(channel, media_id))
        MEDIA_SERVED.labels("whatsapp").inc()
        return Served(download, _headers(download, FETCHED_CACHE))

    async def retry(self, who: Identity, media_id: str,
                    idempotency_key: str | None) -> CommandAccepted:
        """Ask the media archiver to download a customer's media again. A stored one is left
        as it is downstream (the command is idempotent there)."""
        record = await self._record(who, media_id)
        now, command_id = self.clock(), command_id_for(who.tenant_id, idempotency_key)
        if record is not None:
            command = RetryMediaDownload(
                occurred_at=now, tenant_id=who.tenant_id, command_id=command_id,
                actor_id=who.agent_id, conversation_id=record.conversation_id,
                business_phone_number_id=record.business_phone_number_id,
                media_id=media_id, message_wamid=record.message_wamid,
                media_type=record.media_type, mime_type=record.mime_type,
                filename=record.filename, sha256=record.meta_sha256)
        else:
            message = await self.repository.media_message(who.tenant_id, media_id)
            if (message is None or message.get("direction") != "inbound"
                    or not message.get("wamid")):
                raise NotFound("No customer media with this id.", code="media_not_found")
            content = message.get("content") or {}
            command = RetryMediaDownload(
                occurred_at=now, tenant_id=who.tenant_id, command_id=command_id,
                actor_id=who.agent_id, conversation_id=message["conversation_id"],
                business_phone_number_id=message["business_phone_number_id"],
                media_id=media_id, message_wamid=message["wamid"],
                media_type=message.get("message_type") or "document",
                mime_type=_text(content.get("mime_type")),
                filename=_text(content.get("filename")), sha256=_text(content.get("sha256")))
        await self.publisher.publish(command)
        COMMANDS.labels(command.type).inc()
        return CommandAccepted(command_id=command.command_id,
                               conversation_id=command.conversation_id)

    async def _record(self, who: Identity, media_id: str) -> ArchivedMedia | None:
        found = await self.repository.archived_media(who.tenant_id, [media_id])
        doc = found.get(media_id)
        return ArchivedMedia.model_validate(doc) if doc is not None else None


def _headers(download: MediaDownload, cache: str, etag: str | None = None) -> dict[str, str]:
    headers = {"Cache-Control": cache}
    if download.length is not None:
        headers["Content-Length"] = str(download.length)
    if etag is not None:
        headers["ETag"] = etag
    return headers


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
