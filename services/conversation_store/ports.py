"""The store's ports: what the pipeline needs from the outside, as small protocols, with the
values and the error they exchange.

The adapters (``adapters/``) implement them and import them from here, so they depend on the
store's domain and never the reverse; ``main.py`` plugs one into the other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Protocol

from services.conversation_store.changes import ThreadChange
from services.conversation_store.thread import Outgoing, Thread
from shared.events import ConversationChanged


class WriteConflict(Exception):
    """The database holds a document the fold did not see (another writer): reload and refold."""


@dataclass(slots=True)
class Wanted:
    """The message documents one conversation's events need: by ``_id`` and by wamid, or all
    of them (a merge hands the whole thread over)."""

    ids: set[str] = field(default_factory=set)
    wamids: set[str] = field(default_factory=set)
    all: bool = False


class ThreadRepository(Protocol):
    """Loads and saves threads; the only code that talks to the database."""

    async def load(self, wanted: Mapping[str, Wanted]) -> dict[str, Thread]:
        """Each wanted conversation with the messages it names (missing ones are absent)."""

    async def save(self, changes: Sequence[ThreadChange]) -> None:
        """Write conversations first, then their messages. Raises WriteConflict."""


class Forwarder(Protocol):
    """Publishes what the fold hands to other conversations (merge.py), keyed by their ids."""

    async def forward(self, outgoing: Sequence[Outgoing]) -> None:
        """Publish each event on its source's topic and wait for the broker's acknowledgement."""


class NoticePublisher(Protocol):
    async def publish(self, notices: Sequence[ConversationChanged]) -> None:
        """Publish and wait for the broker's acknowledgement."""


class Assignment(Protocol):
    """The partitions this member owns right now (the consumer group's assignment)."""

    def owned(self) -> AbstractSet[tuple[str, int]]:
        """The (topic, partition) pairs this member owns."""


class Rebalancing(Protocol):
    """What the consumer tells the store when the group moves partitions."""

    async def rebalance(self) -> None:
        """Return only once the batch in hand is written (its partitions may be leaving)."""
