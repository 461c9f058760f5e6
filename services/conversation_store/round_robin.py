"""Round-robin auto-assignment of new conversations (docs/inbox-api.md, "Round-robin").

Where: here, in the store, when the fold creates a conversation, so the assignment is part of
the conversation's first write (and of its first notice): no agent ever sees it unassigned, a
replayed batch finds the conversation already stored (not new) and picks no one again, and no
second service has to watch the change feed and race the agents. inbox_api owns the rotation's
settings (``round_robin``: the admin's switch and the agents who opted in); the store only
advances its pointer.

The rule is pure (:func:`next_member`, :func:`is_due`, :func:`assigned_to`); the pointer is a
counter the adapter increments atomically (one ``findAndModify`` ``$inc`` per new conversation),
so store members folding different partitions at once still hand out turns one at a time. A save
that fails after a pick and is retried picks again: the rotation skips a turn, nothing worse.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from services.conversation_store.changes import ThreadChange

# ``assigned_by`` of a conversation the rotation assigned.
ROUND_ROBIN_ACTOR = "round-robin"


def next_member(members: Sequence[str], counter: int) -> str | None:
    """The agent whose turn the ``counter``-th pick (1-based) is, in ``members``' order."""
    if not members or counter < 1:
        return None
    return members[(counter - 1) % len(members)]


def is_due(change: ThreadChange) -> bool:
    """A conversation this write creates, that a customer started and nobody assigned."""
    c = change.conversation
    return (change.conversation_is_new and c.assignee_id is None and c.merged_into is None
            and c.last_inbound_at is not None)


def assigned_to(change: ThreadChange, agent_id: str, now: datetime) -> ThreadChange:
    conversation = change.conversation.model_copy(update={
        "assignee_id": agent_id, "assigned_at": now, "assigned_by": ROUND_ROBIN_ACTOR})
    return replace(change, conversation=conversation)


class Rotation(Protocol):
    """The tenant's rotation (``round_robin``): the next agent, the pointer advanced
    atomically; None when the rotation is off or nobody takes turns."""

    async def next(self, tenant_id: str) -> str | None: ...


class RoundRobin:
    """Assigns a batch's new conversations, each to the next agent of its tenant's rotation."""

    def __init__(self, rotation: Rotation, clock: Callable[[], datetime]) -> None:
        self.rotation = rotation
        self.clock = clock

    async def __call__(self, changes: list[ThreadChange]) -> list[ThreadChange]:
        out: list[ThreadChange] = []
        for change in changes:
            agent = (await self.rotation.next(change.conversation.tenant_id)
                     if is_due(change) else None)
            out.append(change if agent is None else assigned_to(change, agent, self.clock()))
        return out
