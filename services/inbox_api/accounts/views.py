"""Stored key and channel documents, and the tenant's settings -> the accounts' JSON shapes.
Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from services.inbox_api.accounts.credentials import role_of_key
from services.inbox_api.accounts.schemas import AgentList, AgentOut, ChannelOut, TenantSettingsOut
from services.inbox_api.accounts.tenants import TenantSettings
from shared.channels import Channel
from shared.phone import display_number

Doc = Mapping[str, Any]


def agent_list(key_docs: Iterable[Doc], people: Iterable[Doc] = ()) -> AgentList:
    """One entry per agent id: a person as recorded (name, email, role, active), else the agent
    of keys (an agent may hold several; the newest key's name wins, since renaming someone means
    giving them a new key). Sorted by name, then id."""
    newest: dict[str, Doc] = {}
    for doc in key_docs:
        agent_id = doc.get("agent_id")
        if not isinstance(agent_id, str) or not agent_id:
            continue
        seen = newest.get(agent_id)
        if seen is None or _created(doc) >= _created(seen):
            newest[agent_id] = doc
    agents = {agent_id: AgentOut(id=agent_id,
                                 display_name=_str(doc.get("display_name")) or agent_id,
                                 kind="service" if doc.get("kind") == "service" else "agent",
                                 role=role_of_key(doc))
              for agent_id, doc in newest.items()}
    for person in people:
        agent_id = person.get("agent_id")
        if not isinstance(agent_id, str) or not agent_id:
            continue
        keyed = agents.get(agent_id)
        agents[agent_id] = AgentOut(
            id=agent_id, display_name=_str(person.get("name")) or agent_id,
            kind=keyed.kind if keyed else "agent",
            role="admin" if person.get("role") == "admin" else "agent",
            active=person.get("active", True) is not False, email=_str(person.get("email")))
    return AgentList(items=sorted(agents.values(),
                                  key=lambda a: (a.display_name.casefold(), a.id)))


def settings_view(settings: TenantSettings) -> TenantSettingsOut:
    return TenantSettingsOut(read_receipts=settings.read_receipts)


def channel_view(channel: Channel) -> ChannelOut:
    return ChannelOut(phone_number_id=channel.phone_number_id,
                      display_phone_number=channel.display_phone_number,
                      display_number=display_number(channel.display_phone_number),
                      waba_id=channel.waba_id)


def _created(doc: Doc) -> datetime:
    at = doc.get("created_at")
    return at if isinstance(at, datetime) else datetime.min.replace(tzinfo=UTC)


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None
