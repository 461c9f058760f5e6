"""The API's ports: what its use cases need from MongoDB, Kafka and the Cloud API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from services.inbox_api.cursors import ListPosition
from shared.channels import Channel
from shared.events.commands import Command

Document = dict[str, Any]


class InboxRepository(Protocol):
    """Reads of the store's collections, and the API's own credentials."""

    async def api_key(self, key_hash: str) -> Document | None: ...
    async def add_api_key(self, doc: Document) -> None: ...
    async def revoke_api_key(self, key_hash: str, at: datetime) -> bool: ...
    async def session(self, token_hash: str) -> Document | None: ...
    async def add_session(self, doc: Document) -> None: ...
    async def delete_session(self, token_hash: str) -> None: ...
    async def agent_keys(self, tenant_id: str) -> list[Document]: ...
    async def channel(self, phone_number_id: str) -> Channel | None: ...
    async def tenant_channels(self, tenant_id: str) -> list[Channel]: ...
    async def template(self, waba_id: str, name: str, language: str) -> Document | None: ...
    async def templates(self, tenant_id: str, status: str | None) -> list[Document]: ...
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
