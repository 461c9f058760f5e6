"""Keyed processing: one queue per conversation, run in order; conversations run concurrently.

A conversation's commands go out in the order the agent sent them, while a customer whose queue
is stalled (Meta's pair rate limit, a retry backoff) holds up nobody else. Offsets are committed
up to the first command not finished in each partition (:class:`OffsetTracker`), so a crash
redelivers exactly what was not finished; the ledger makes the redelivery of finished ones
harmless.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
P = TypeVar("P", bound=Hashable)
K = TypeVar("K", bound=Hashable)


class OffsetTracker(Generic[P]):
    """Per partition: offsets handed out and not finished, and the position safe to commit."""

    def __init__(self) -> None:
        self._pending: dict[P, deque[int]] = {}
        self._finished: dict[P, set[int]] = {}
        self._end: dict[P, int] = {}
        self._committed: dict[P, int] = {}
        self.outstanding = 0

    def add(self, partition: P, offset: int) -> None:
        self._pending.setdefault(partition, deque()).append(offset)
        self._end[partition] = max(self._end.get(partition, 0), offset + 1)
        self.outstanding += 1

    def finish(self, partition: P, offset: int) -> None:
        pending = self._pending.get(partition)
        if pending is None:
            return  # forgotten (partition revoked) meanwhile
        self._finished.setdefault(partition, set()).add(offset)
        self.outstanding -= 1

    def committable(self, polled: Mapping[P, int]) -> dict[P, int]:
        """Record the polled ends (next offsets) and return the positions that changed: the
        first unfinished offset of each partition, or its polled end when all are finished."""
        for partition, end in polled.items():
            self._end[partition] = max(self._end.get(partition, 0), end)
        changed: dict[P, int] = {}
        for partition, end in self._end.items():
            pending = self._pending.get(partition)
            finished = self._finished.get(partition, set())
            while pending and pending[0] in finished:
                finished.discard(pending.popleft())
            position = pending[0] if pending else end
            if self._committed.get(partition) != position:
                changed[partition] = self._committed[partition] = position
        return changed

    def forget(self, partitions: Iterable[P]) -> None:
        for partition in partitions:
            pending = self._pending.pop(partition, deque())
            finished = self._finished.pop(partition, set())
            self.outstanding -= len(pending) - len(finished)
            self._end.pop(partition, None)
            self._committed.pop(partition, None)


@dataclass(eq=False)
class _Lane(Generic[T]):
    queue: deque[T] = field(default_factory=deque)
    task: asyncio.Task[None] | None = None


class Lanes(Generic[K, T]):
    """Runs ``work`` on each submitted item: one at a time per key, keys concurrently."""

    def __init__(
        self,
        work: Callable[[T], Awaitable[None]],
        on_done: Callable[[T], None],
        retry_seconds: float = 1.0,
    ) -> None:
        self._work = work
        self._on_done = on_done
        self._retry_seconds = retry_seconds
        self._lanes: dict[K, _Lane[T]] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    def __len__(self) -> int:
        return len(self._lanes)

    def submit(self, key: K, item: T) -> None:
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane()
            lane.task = asyncio.create_task(self._run(key, lane))
            self._idle.clear()
        lane.queue.append(item)

    async def _run(self, key: K, lane: _Lane[T]) -> None:
        try:
            while lane.queue:
                item = lane.queue[0]
                try:
                    await self._work(item)
                except Exception:
                    # ``work`` handles its own failures; this is a bug. Keep the order: retry.
                    log.exception("lane work failed; retrying the same item")
                    await asyncio.sleep(self._retry_seconds)
                    continue
                lane.queue.popleft()
                self._on_done(item)
        finally:
            if self._lanes.get(key) is lane:
                del self._lanes[key]
            if not self._lanes:
                self._idle.set()

    async def drain(self, which: Callable[[K], bool] | None = None,
                    timeout: float | None = None) -> int:
        """Stop the lanes ``which`` selects (all by default): what waits is dropped (unfinished,
        so redelivered), what is mid-call finishes first. Returns how many did not finish in
        ``timeout`` (they go on in the background)."""
        chosen = [(k, lane) for k, lane in self._lanes.items() if which is None or which(k)]
        tasks = []
        for key, lane in chosen:
            del self._lanes[key]  # new items for this key start a fresh lane
            if not self._lanes:
                self._idle.set()
            if lane.task is not None:
                lane.task.cancel()
                tasks.append(lane.task)
        if not tasks:
            return 0
        _, still = await asyncio.wait(tasks, timeout=timeout)
        if still:
            log.warning("lanes still finishing a call after the drain timeout",
                        extra={"lanes": len(still)})
        return len(still)

    async def wait_idle(self) -> None:
        """Return once no lane has work (for tests and benchmarks)."""
        await self._idle.wait()
