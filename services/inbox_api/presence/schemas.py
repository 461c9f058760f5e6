"""Presence's JSON shapes (docs/inbox-api.md, "Presence")."""

from __future__ import annotations

from pydantic import AwareDatetime

from services.inbox_api.presence.rules import State
from services.inbox_api.schemas import ApiModel


class PresenceIn(ApiModel):
    """A heartbeat: what the caller is doing in the conversation now."""

    state: State


class PresenceOut(ApiModel):
    agent_id: str
    display_name: str
    state: State
    since: AwareDatetime


class PresenceList(ApiModel):
    """Who has the conversation open now (the caller too, once they beat): typing first, then
    by who came first. ``heartbeat_seconds``: how often an open thread should beat."""

    items: list[PresenceOut]
    heartbeat_seconds: int
