"""The audit log's JSON shapes (docs/inbox-api.md, "Audit log")."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime

from services.inbox_api.schemas import ApiModel


class AuditEntryOut(ApiModel):
    """One action: who (``agent_id``, ``agent_name``), when (``at``), what (``action``, the
    ``target`` ids from the route, a ``summary`` of the request: whitelisted fields, never a
    secret), and the answer's ``status``."""

    id: str
    at: AwareDatetime
    agent_id: str | None
    agent_name: str | None
    action: str
    method: str
    route: str
    target: dict[str, str]
    summary: dict[str, Any]
    status: int


class AuditPage(ApiModel):
    items: list[AuditEntryOut]
    next_cursor: str | None
