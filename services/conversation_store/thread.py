"""The values the fold works on: a conversation's documents (:class:`Thread`), where an event
came from (:class:`Position`), one event in the fold (:class:`Step`) and one the fold hands to
another conversation (:class:`Outgoing`). Pure.

They sit apart from the rules so that every module of the fold (``projection.py``, the rules of
``inbound.py``, ``outbound.py`` and ``commands.py``, and the ``messages.py`` and
``conversations.py`` rules they combine) imports them, and none imports the fold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from services.conversation_store.documents import Conversation, Message
from shared.events.base import Event


@dataclass(frozen=True, slots=True)
class Position:
    """Where an event came from: source ("in", "out", "cmd"), partition, offset."""

    source: str
    partition: int
    offset: int

    @property
    def key(self) -> str:
        return f"{self.source}:{self.partition}"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """An event the fold hands to another conversation (merge.py): published, keyed by its
    conversation id, on the topic of ``source`` ("in", "out", "cmd"), before the batch is saved."""

    event: Event
    source: str


@dataclass(frozen=True, slots=True)
class Thread:
    """A conversation's documents as far as one batch needs them (messages by ``_id``)."""

    id: str
    conversation: Conversation | None = None
    messages: Mapping[str, Message] = field(default_factory=dict)
    # An event was skipped as already applied: its change notice may never have gone out.
    replayed: bool = False
    # Events for other conversations: a merged conversation's hand-over and forwards.
    outbox: tuple[Outgoing, ...] = ()


@dataclass(frozen=True, slots=True)
class Step:
    """One event as the fold applies it."""

    event: Event
    position: Position
    # False when the conversation already applied this position: redo message effects only.
    fresh: bool
