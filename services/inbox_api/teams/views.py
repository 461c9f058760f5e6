"""Stored team and rotation documents -> the teams' JSON shapes. Pure."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from services.inbox_api.teams.assignees import team_assignee
from services.inbox_api.teams.schemas import RoundRobinOut, TeamOut

Doc = Mapping[str, Any]


def team_view(doc: Doc) -> TeamOut:
    created = doc.get("created_at")
    if isinstance(created, datetime) and created.tzinfo is None:
        created = created.replace(tzinfo=UTC)  # the database hands back naive UTC
    return TeamOut(id=str(doc["_id"]), name=str(doc.get("name") or ""),
                   member_ids=[m for m in doc.get("member_ids") or [] if isinstance(m, str)],
                   assignee_id=team_assignee(str(doc["_id"])),
                   created_at=created if isinstance(created, datetime) else None)


def rotation_view(doc: Doc | None, active: Collection[str], caller: str) -> RoundRobinOut:
    """Only active agents are shown as taking turns (one deactivated since is left out)."""
    members = [m for m in (doc or {}).get("members") or [] if m in active]
    return RoundRobinOut(enabled=bool((doc or {}).get("enabled")), members=members,
                         available=caller in members)
