"""What the conversations' use cases need from MongoDB (``repository.py``), Kafka and the Cloud
API (``adapters/``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from services.inbox_api.accounts.credentials import Identity
from services.inbox_api.accounts.ports import AccountRepository, Clock, Document
from services.inbox_api.conversations.cursors import ListPosition
from shared.channels import Channel
from shared.events.commands import Command
from shared.media_archive import ArchivedMedia

__all__ = ["Assignees", "Clock", "CommandPublisher", "Document", "InboxRepository",
           "MediaArchive", "MediaDownload", "MediaFile", "MediaSource", "MediaUploader"]


class InboxRepository(AccountRepository, Protocol):
    """Reads of the store's collections, on top of the accounts' (one repository serves a
    request's who and what)."""

    async def template(self, waba_id: str, name: str, language: str) -> Document | None: ...
    # ``opt_outs`` documents by ``_id`` (a page's customers at once; shared/marketing.py).
    async def opt_outs(self, ids: Sequence[str]) -> list[Document]: ...
    async def conversation(self, tenant_id: str, conversation_id: str) -> Document | None: ...

    async def conversations(self, tenant_id: str, *, filter: Any, agent_id: str,
                            q: str | None, after: ListPosition | None,
                            limit: int, label: str | None = None) -> list[Document]: ...

    # ``label_ids``, ``updated_at`` by conversation (``conversation_labels``, labels/), and the
    # tenant's labels.
    async def conversation_labels(self, tenant_id: str,
                                  conversation_ids: Sequence[str]) -> dict[str, Document]: ...

    async def label_names(self, tenant_id: str) -> list[Document]: ...

    async def thread(self, tenant_id: str, conversation_id: str, before: str | None,
                     limit: int) -> list[Document]: ...

    async def previews(self, tenant_id: str, conversation_id: str,
                       wamids: Sequence[str]) -> dict[str, str]: ...

    async def campaign_names(self, tenant_id: str,
                             campaign_ids: Sequence[str]) -> dict[str, str]: ...

    async def media_owner(self, tenant_id: str, media_id: str) -> str | None: ...

    async def media_message(self, tenant_id: str, media_id: str) -> Document | None: ...

    async def archived_media(self, tenant_id: str,
                             media_ids: Sequence[str]) -> dict[str, Document]: ...

    async def customer_wamid(self, tenant_id: str, conversation_id: str,
                             wamid: str | None = None) -> str | None: ...


class Assignees(Protocol):
    """Whom a conversation may be assigned to: an active agent of the caller's tenant or one
    of its teams (``teams/service.py``)."""

    async def is_assignable(self, who: Identity, assignee_id: str) -> bool: ...


class AccountNotices(Protocol):
    """Meta's notices about the tenant's accounts and numbers (``account_health``), which the
    send pre-check applies as the sender will (shared/account_policy.py)."""

    async def notices(self, tenant_id: str) -> list[Document]: ...


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


class MediaArchive(Protocol):
    """The media archive's bytes (docs/media.md): a stored record's download, or None when this
    replica cannot read them (then Meta's copy is the fallback)."""

    async def open(self, record: ArchivedMedia) -> MediaDownload | None: ...


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
