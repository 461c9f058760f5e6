"""What the notes' use cases need: the database (``repository.py``) and the tenant's agents
(the accounts' use case)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from services.inbox_api.accounts.credentials import Identity
from services.inbox_api.accounts.ports import Clock
from services.inbox_api.accounts.schemas import AgentList

Document = dict[str, Any]

__all__ = ["AgentRoster", "Clock", "Document", "NoteStore"]


class AgentRoster(Protocol):
    """The caller's tenant's active agents (``AccountService.agents``)."""

    async def agents(self, identity: Identity) -> AgentList: ...


class NoteStore(Protocol):
    """``notes`` and ``mentions`` (and whether a conversation is the tenant's)."""

    async def conversation_exists(self, tenant_id: str, conversation_id: str) -> bool: ...
    async def add(self, doc: Document) -> None: ...
    async def notes(self, tenant_id: str, conversation_id: str, limit: int) -> list[Document]: ...
    async def mention(self, tenant_id: str, agent_ids: Sequence[str], conversation_id: str,
                      note_id: str, at: datetime) -> None: ...
    async def unread_mentions(self, tenant_id: str, agent_id: str,
                              conversation_ids: Sequence[str]) -> dict[str, int]: ...
    async def clear_mentions(self, tenant_id: str, agent_id: str,
                             conversation_id: str) -> None: ...
