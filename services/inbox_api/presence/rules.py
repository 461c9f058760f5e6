"""Presence rules, pure: what a heartbeat makes of an agent's entry, when it expires, and who is
shown, in which order.

An entry is one agent on one conversation. Each heartbeat says what the agent is doing now
(``viewing`` or ``typing``) and keeps the entry for :data:`VIEWING_TTL`; ``typing`` lasts
:data:`TYPING_TTL` after the last heartbeat that said so, then the agent is shown viewing again.
A ``viewing`` heartbeat ends typing at once (the agent sent the reply or cleared the box).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

State = Literal["viewing", "typing"]
STATES: tuple[State, ...] = ("viewing", "typing")

# The open thread beats every HEARTBEAT while it is visible; an entry outlives two missed beats
# (a throttled background tab, a slow network) and then disappears on its own: a crashed
# browser never sends its goodbye.
HEARTBEAT = timedelta(seconds=10)
VIEWING_TTL = timedelta(seconds=25)
# "Bea is typing…" ends this long after her last keystroke's heartbeat.
TYPING_TTL = timedelta(seconds=6)


@dataclass(frozen=True, slots=True)
class Presence:
    """One agent's entry on one conversation."""

    agent_id: str
    display_name: str
    viewing_since: datetime
    viewing_until: datetime
    typing_since: datetime | None = None
    typing_until: datetime | None = None

    @property
    def expires_at(self) -> datetime:
        """When the entry is gone entirely (what the database's query and TTL index use)."""
        if self.typing_until is not None and self.typing_until > self.viewing_until:
            return self.typing_until
        return self.viewing_until


@dataclass(frozen=True, slots=True)
class Shown:
    """An agent as the thread's presence bar shows them."""

    agent_id: str
    display_name: str
    state: State
    since: datetime


def is_typing(entry: Presence, now: datetime) -> bool:
    return entry.typing_until is not None and entry.typing_until > now


def state_at(entry: Presence, now: datetime) -> State | None:
    """What the agent is doing at ``now``; None once the entry has expired."""
    if entry.expires_at <= now:
        return None
    return "typing" if is_typing(entry, now) else "viewing"


def beat(previous: Presence | None, agent_id: str, display_name: str, state: State,
         now: datetime) -> Presence:
    """The entry after a heartbeat saying ``state`` at ``now``.

    ``since`` survives beats: viewing since the agent opened the thread (an expired entry starts
    afresh), typing since the first keystroke of this burst (typing that lapsed starts again)."""
    live = previous if previous is not None and state_at(previous, now) is not None else None
    viewing_since = live.viewing_since if live is not None else now
    if state == "viewing":
        return Presence(agent_id, display_name, viewing_since, now + VIEWING_TTL)
    typing_since = (live.typing_since if live is not None and live.typing_since is not None
                    and is_typing(live, now) else now)
    return Presence(agent_id, display_name, viewing_since, now + VIEWING_TTL,
                    typing_since, now + TYPING_TTL)


def shown(entries: Iterable[Presence], now: datetime) -> list[Shown]:
    """Who is on the conversation at ``now``: the unexpired entries, one per agent (the one that
    lasts longest), typing first, then by who came first, then by name."""
    latest: dict[str, Presence] = {}
    for entry in entries:
        if state_at(entry, now) is None:
            continue
        kept = latest.get(entry.agent_id)
        if kept is None or entry.expires_at > kept.expires_at:
            latest[entry.agent_id] = entry
    people = []
    for entry in latest.values():
        state = state_at(entry, now)
        assert state is not None
        since = entry.typing_since if state == "typing" and entry.typing_since else \
            entry.viewing_since
        people.append(Shown(entry.agent_id, entry.display_name, state, since))
    people.sort(key=lambda s: (s.state != "typing", s.since, s.display_name.casefold(),
                               s.agent_id))
    return people
