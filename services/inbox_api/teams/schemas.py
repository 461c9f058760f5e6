"""The teams' and the rotation's JSON shapes (docs/inbox-api.md)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, Field

from services.inbox_api.schemas import ApiModel

AgentId = Annotated[str, Field(min_length=1, max_length=200)]


class TeamIn(ApiModel):
    name: str = Field(min_length=1, max_length=80, pattern=r"\S")  # not only spaces
    # Active agents of the tenant (422 naming ``member_ids`` otherwise).
    member_ids: list[AgentId] = Field(default_factory=list, max_length=500)


class TeamOut(ApiModel):
    id: str
    name: str
    member_ids: list[str]
    # What a conversation's ``assignee_id`` is when it is assigned to this team.
    assignee_id: str
    created_at: AwareDatetime | None


class TeamList(ApiModel):
    items: list[TeamOut]


class RoundRobinOut(ApiModel):
    """Round-robin auto-assignment of new conversations: ``enabled`` (the admin's switch) and
    the agents who take turns (those who opted in and are active), in turn order."""

    enabled: bool
    members: list[str]
    # Whether the caller is in the rotation.
    available: bool


class RoundRobinIn(ApiModel):
    """Admins only. ``members`` (optional) replaces who takes turns."""

    enabled: bool
    members: list[AgentId] | None = Field(default=None, max_length=500)


class AvailabilityIn(ApiModel):
    """The caller opts in to (or out of) the rotation."""

    available: bool
