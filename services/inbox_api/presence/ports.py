"""What the presence use cases need from the database (``repository.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from services.inbox_api.accounts.ports import Clock

Document = dict[str, Any]

__all__ = ["Clock", "Document", "PresenceStore"]


class PresenceStore(Protocol):
    """``presence`` (and whether a conversation is the tenant's)."""

    async def conversation_exists(self, tenant_id: str, conversation_id: str) -> bool: ...
    async def entry(self, tenant_id: str, conversation_id: str,
                    agent_id: str) -> Document | None: ...
    async def put(self, doc: Document) -> None: ...
    async def remove(self, tenant_id: str, conversation_id: str, agent_id: str) -> None: ...
    async def present(self, tenant_id: str, conversation_id: str,
                      now: datetime) -> list[Document]: ...
    async def sweep(self, tenant_id: str, conversation_id: str, now: datetime) -> None: ...
