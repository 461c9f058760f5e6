"""What the canned replies' use cases need from MongoDB (``repository.py``)."""

from __future__ import annotations

from typing import Any, Protocol

Document = dict[str, Any]


class DuplicateShortcut(Exception):
    """Another canned reply of the tenant has that shortcut."""


class CannedReplyStore(Protocol):
    """A tenant's ``canned_replies``, and the contact of a conversation (to fill one)."""

    # Those whose shortcut starts with ``prefix`` (all with ""), by shortcut.
    async def replies(self, tenant_id: str, prefix: str) -> list[Document]: ...
    async def reply(self, tenant_id: str, reply_id: str) -> Document | None: ...
    # Raise DuplicateShortcut when the shortcut is taken.
    async def add(self, doc: Document) -> None: ...
    async def update(self, tenant_id: str, reply_id: str, fields: Document) -> Document | None: ...
    async def delete(self, tenant_id: str, reply_id: str) -> bool: ...
    async def conversation(self, tenant_id: str, conversation_id: str) -> Document | None: ...
