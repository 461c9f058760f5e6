"""What the account notices' use case needs from MongoDB (``repository.py``)."""

from __future__ import annotations

from typing import Any, Protocol

Document = dict[str, Any]


class NoticeStore(Protocol):
    """The tenant's ``account_health`` documents (conversation_store writes them)."""

    async def notices(self, tenant_id: str) -> list[Document]: ...
