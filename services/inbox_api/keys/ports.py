"""What the keys' use cases need: ``api_keys`` and ``sessions`` (``repository.py``), the
tenant's numbers and its people (the accounts' use cases)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from services.inbox_api.accounts.credentials import Identity
from services.inbox_api.accounts.ports import Clock
from services.inbox_api.accounts.schemas import AgentList
from shared.channels import Channel

Document = dict[str, Any]

__all__ = ["ChannelReader", "Clock", "Document", "KeyStore", "Roster"]


class KeyStore(Protocol):
    """A tenant's API keys (stored by their digest) and the sessions made from them."""

    async def tenant_keys(self, tenant_id: str) -> list[Document]: ...
    async def keys_with_prefix(self, tenant_id: str, digest_prefix: str) -> list[Document]: ...
    async def add_key(self, doc: Document) -> None: ...
    async def revoke_key(self, tenant_id: str, key_hash: str, at: datetime) -> bool: ...
    async def delete_key_sessions(self, tenant_id: str, key_hash: str) -> int: ...


class Roster(Protocol):
    """The caller's tenant's agents (``AccountService.agents``): whom an agent key may be for."""

    async def agents(self, identity: Identity) -> AgentList: ...


class ChannelReader(Protocol):
    """The tenant's business numbers (``AccountRepository.tenant_channels``)."""

    async def tenant_channels(self, tenant_id: str) -> list[Channel]: ...
