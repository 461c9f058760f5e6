"""Stored presence documents <-> the rules' entries -> the JSON shapes. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from services.inbox_api.presence.rules import Presence, Shown
from services.inbox_api.presence.schemas import PresenceOut

Doc = Mapping[str, Any]


def presence_id(tenant_id: str, conversation_id: str, agent_id: str) -> str:
    return f"{tenant_id}|{conversation_id}|{agent_id}"


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at  # the database hands back naive UTC


def _maybe(at: Any) -> datetime | None:
    return _aware(at) if isinstance(at, datetime) else None


def entry_of(doc: Doc) -> Presence:
    return Presence(agent_id=doc["agent_id"],
                    display_name=doc.get("display_name") or doc["agent_id"],
                    viewing_since=_aware(doc["viewing_since"]),
                    viewing_until=_aware(doc["viewing_until"]),
                    typing_since=_maybe(doc.get("typing_since")),
                    typing_until=_maybe(doc.get("typing_until")))


def presence_doc(tenant_id: str, conversation_id: str, entry: Presence) -> dict[str, Any]:
    return {"_id": presence_id(tenant_id, conversation_id, entry.agent_id),
            "tenant_id": tenant_id, "conversation_id": conversation_id,
            "agent_id": entry.agent_id, "display_name": entry.display_name,
            "viewing_since": entry.viewing_since, "viewing_until": entry.viewing_until,
            "typing_since": entry.typing_since, "typing_until": entry.typing_until,
            "expires_at": entry.expires_at}


def presence_out(shown: Shown) -> PresenceOut:
    return PresenceOut(agent_id=shown.agent_id, display_name=shown.display_name,
                       state=shown.state, since=shown.since)
