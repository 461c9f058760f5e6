"""The keys' and the numbers' JSON shapes (docs/inbox-api.md, "Keys and channels")."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from services.inbox_api.accounts.schemas import ChannelOut, Role
from services.inbox_api.schemas import ApiModel

Kind = Literal["agent", "service"]


class KeyIn(ApiModel):
    """A new key: a service's (acting under its own name, a new agent id unless given) or an
    agent's (``agent_id``: someone of the team; their role, if a person, decides)."""

    name: str = Field(min_length=1, max_length=100, pattern=r"\S")
    kind: Kind = "service"
    agent_id: str | None = Field(default=None, min_length=1, max_length=200,
                                 pattern=r"^[A-Za-z0-9_.@-]+$")
    role: Role = "agent"


class KeyOut(ApiModel):
    """A key, never its secret: ``id`` names it in the API, ``prefix`` is how it starts (keys
    made before prefixes were kept show none)."""

    id: str
    prefix: str | None
    name: str
    kind: Kind
    agent_id: str
    role: Role
    created_at: AwareDatetime | None
    # Keys do not record their use (a write per request); sessions say who signed in.
    last_used_at: AwareDatetime | None = None


class KeyCreated(KeyOut):
    """A new key: ``secret`` is shown this once (only its digest is stored)."""

    secret: str


class KeyList(ApiModel):
    items: list[KeyOut]


class ChannelList(ApiModel):
    items: list[ChannelOut]
