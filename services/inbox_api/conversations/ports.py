"""What the conversations' use cases need from MongoDB (``repository.py``), Kafka and the Cloud
API (``adapters/``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from services.inbox_api.accounts.ports import AccountRepository, Clock, Document
from services.inbox_api.conversations.cursors import ListPosition
from shared.channels import Channel
from shared.events.commands import Command

__all__ = ["Clock", "CommandPublisher", "Document", "InboxRepository", "MediaDownload",
           "MediaFile", "MediaSource", "MediaUploader"]


class InboxRepository(AccountRepository, Protocol):
    """Reads of the store's collections, on top of the accounts' (one repository serves a
    request's who and what)."""

    async def template(self, waba_id: str, name: str, language: str) -> Document | None: ...
    async def conversation(self, tenant_id: str, conversation_id: str) -> Document | None: ...

    async def conversations(self, tenant_id: str, *, filter: Any, agent_id: str,
                            q: str | None, after: ListPosition | None,
                            limit: int) -> list[Document]: ...

    async def thread(self, tenant_id: str, conversation_id: str, before: str | None,
                     limit: int) -> list[Document]: ...

    async def previews(self, tenant_id: str, conversation_id: str,
                       wamids: Sequence[str]) -> dict[str, str]: ...

    async def media_owner(self, tenant_id: str, media_id: str) -> str | None: ...


class CommandPublisher(Protocol):
    """Puts a command on ``inbox.commands.v1`` (acknowledged by the broker when it returns)."""

    async def publish(self, command: Command) -> None: ...


@dataclass(frozen=True, slots=True)
class MediaDownload:
    """An open download: headers now, the body as it streams."""

    mime_type: str
    length: int | None
    body: AsyncIterator[bytes]


class MediaSource(Protocol):
    """Fetches a media object from the Cloud API with the channel's token."""

    def download(self, channel: Channel,
                 media_id: str) -> AbstractAsyncContextManager[MediaDownload]: ...


@dataclass(frozen=True, slots=True)
class MediaFile:
    """A checked file to upload: its name, the MIME type Meta is told, and its bytes (read from
    the current position)."""

    filename: str
    mime_type: str
    content: BinaryIO


class MediaUploader(Protocol):
    """Uploads a file to the Cloud API with the channel's token (``POST /{phone_number_id}/media``)
    and returns Meta's media id; raises ``UpstreamRefused`` (502) or ``Unavailable`` (503)."""

    async def upload(self, channel: Channel, file: MediaFile) -> str: ...
