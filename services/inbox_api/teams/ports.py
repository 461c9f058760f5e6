"""What the teams' use cases need: the database (``repository.py``) and the tenant's agents
(the accounts' use case, which knows who is active)."""

from __future__ import annotations

from typing import Any, Protocol

from services.inbox_api.accounts.credentials import Identity
from services.inbox_api.accounts.ports import Clock
from services.inbox_api.accounts.schemas import AgentList

Document = dict[str, Any]

__all__ = ["AgentRoster", "Clock", "Document", "TeamStore"]


class AgentRoster(Protocol):
    """The caller's tenant's active agents (``AccountService.agents``)."""

    async def agents(self, identity: Identity) -> AgentList: ...


class TeamStore(Protocol):
    """``teams`` and ``round_robin``, always inside one tenant."""

    async def teams(self, tenant_id: str) -> list[Document]: ...
    async def team(self, tenant_id: str, team_id: str) -> Document | None: ...
    async def add_team(self, doc: Document) -> None: ...
    async def update_team(self, tenant_id: str, team_id: str, name: str,
                          member_ids: list[str]) -> bool: ...
    async def delete_team(self, tenant_id: str, team_id: str) -> bool: ...
    async def rotation(self, tenant_id: str) -> Document | None: ...
    async def set_rotation(self, tenant_id: str, enabled: bool,
                           members: list[str] | None) -> None: ...
    async def set_available(self, tenant_id: str, agent_id: str, available: bool) -> None: ...
