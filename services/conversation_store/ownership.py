"""One member folds a conversation at a time: the guard around the store's read-fold-write.

A conversation's records sit on the same partition number of the three input topics, and the
range assignor gives those partitions to one member (adapters/kafka.py). The guard keeps that
true while partitions move:
- a rebalance waits for the batch in hand (:meth:`OwnershipGuard.rebalance` takes the lock the
  batch holds), so the next owner never starts while the last one still writes;
- a batch keeps only the records of partitions this member still owns; the others' next owner
  re-reads them from the last commit.
That is what makes read-fold-write safe without transactions (FerretDB v1 has none).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from services.conversation_store.ports import Assignment
from shared.consumer import Received
from shared.events.base import Event

log = logging.getLogger(__name__)


class OwnershipGuard:
    """Holds a rebalance until the batch in hand is written, and drops records of partitions
    this member no longer owns (their next owner re-reads them from the last commit)."""

    def __init__(
        self, assignment: Assignment, on_rebalance: Callable[[], None] = lambda: None
    ) -> None:
        self.assignment = assignment
        # Drops what this member cached about conversations it may no longer own.
        self.on_rebalance = on_rebalance
        self.lock = asyncio.Lock()

    @asynccontextmanager
    async def owned(self, batch: list[Received[Event]]) -> AsyncIterator[list[Received[Event]]]:
        """The batch's records this member owns; no rebalance completes until the block ends."""
        async with self.lock:
            owned = self.assignment.owned()
            mine = [r for r in batch if (r.topic, r.partition) in owned]
            if len(mine) < len(batch):
                log.warning("partitions revoked mid-batch; leaving their records to the new owner",
                            extra={"dropped": len(batch) - len(mine)})
            yield mine

    async def rebalance(self) -> None:
        """Wait for the batch in hand, then forget what this member cached."""
        async with self.lock:
            self.on_rebalance()
