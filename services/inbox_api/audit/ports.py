"""What the audit log needs from MongoDB (``repository.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which entries: by agent and/or action, in ``[since, until)``, after a keyset position."""

    agent_id: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after: tuple[datetime, str] | None = None


class AuditStore(Protocol):
    """The ``audit_log`` collection."""

    async def add_many(self, docs: Sequence[Document]) -> None: ...
    async def entry(self, tenant_id: str, entry_id: str) -> Document | None: ...
    # Newest first (at, _id descending).
    async def entries(self, tenant_id: str, query: AuditQuery, limit: int) -> list[Document]: ...
