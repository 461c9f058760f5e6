"""Live updates, per replica: a ring buffer of recent conversation changes, fanned out to the
stream clients of each change's tenant, with resume from ``Last-Event-ID``.

An event id is the feed's position after the change: the next offset of every partition of
``inbox.conversations.v1`` (``v1.0:12,1:7,2:9``). Offsets are the broker's, so an id means the
same on every replica and a client may reconnect anywhere. Resuming replays the buffered changes
at or after the id's offset on their partition; if the buffer no longer reaches back that far
(or the id is not ours), the client gets ``resync`` and reloads instead of missing a change.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from shared.events import ConversationChanged

ID_PREFIX = "v1."
T = TypeVar("T")


class BadPosition(ValueError):
    """An event id this API did not make."""


def encode_position(position: dict[int, int]) -> str:
    return ID_PREFIX + ",".join(f"{p}:{o}" for p, o in sorted(position.items()))


def decode_position(value: str) -> dict[int, int]:
    if not value.startswith(ID_PREFIX) or len(value) > 4000:
        raise BadPosition(value[:50])
    position: dict[int, int] = {}
    body = value[len(ID_PREFIX):]
    try:
        for part in filter(None, body.split(",")):
            partition, offset = part.split(":")
            position[int(partition)] = int(offset)
    except ValueError as exc:
        raise BadPosition(value[:50]) from exc
    if any(p < 0 or o < 0 for p, o in position.items()):
        raise BadPosition(value[:50])
    return position


@dataclass(frozen=True, slots=True)
class Change:
    """One conversation change as the feed delivered it, with the stream id after it."""

    event: ConversationChanged
    partition: int
    offset: int
    id: str

    @property
    def tenant_id(self) -> str:
        return self.event.tenant_id


class Resync:
    """Tell the client its position is lost: reload the list (``id`` = where it is now)."""

    def __init__(self, id: str) -> None:
        self.id = id


class Closed:
    """The replica is shutting down: end the stream (the browser reconnects elsewhere)."""


Item = Change | Resync | Closed


@dataclass(eq=False)
class Subscription:
    tenant_id: str
    queue: asyncio.Queue[Item]
    capacity: int
    overflowed: bool = field(default=False)


class ReadOnce(Generic[T]):
    """Shares one read among every client that needs the same thing: a change delivered to N
    clients of a tenant reads its conversation once per replica, not N times. Keeps the latest
    ``size`` keys; a failed read is forgotten, so the next client tries again."""

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._reads: OrderedDict[Hashable, asyncio.Future[T]] = OrderedDict()

    async def get(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        read = self._reads.get(key)
        if read is None:
            read = asyncio.ensure_future(load())
            read.add_done_callback(lambda done: self._settled(key, done))
            self._reads[key] = read
            while len(self._reads) > self._size:
                self._reads.popitem(last=False)
        # Shielded: one client leaving mid-read must not cancel the read the others wait on.
        return await asyncio.shield(read)

    def _settled(self, key: Hashable, read: asyncio.Future[T]) -> None:
        failed = read.cancelled() or read.exception() is not None
        if failed and self._reads.get(key) is read:
            del self._reads[key]

    def __len__(self) -> int:
        return len(self._reads)


class StreamHub:
    """The replica's ring buffer and its stream clients, by tenant."""

    def __init__(self, buffer_size: int = 10_000, client_queue: int = 1_000) -> None:
        self._ring: deque[Change] = deque()
        self._buffer_size = buffer_size
        self._client_queue = client_queue
        self._position: dict[int, int] = {}
        # Per partition, the oldest offset the ring can still replay from.
        self._floor: dict[int, int] = {}
        self._subscribers: dict[str, set[Subscription]] = {}
        # The stream data of recent changes, keyed by (tenant, conversation, version).
        self.reads: ReadOnce[dict[str, Any]] = ReadOnce()
        self.started = False

    def start_at(self, position: dict[int, int]) -> None:
        self._position = dict(position)
        self._floor = dict(position)
        self.started = True

    @property
    def position_id(self) -> str:
        return encode_position(self._position)

    def add(self, event: ConversationChanged, partition: int, offset: int) -> None:
        """A change from the feed (in partition order); fanned out to its tenant's clients."""
        self._position[partition] = offset + 1
        self._floor.setdefault(partition, offset)
        change = Change(event, partition, offset, encode_position(self._position))
        self._ring.append(change)
        while len(self._ring) > self._buffer_size:
            evicted = self._ring.popleft()
            self._floor[evicted.partition] = evicted.offset + 1
        for subscription in self._subscribers.get(event.tenant_id, ()):
            self._offer(subscription, change)

    def subscribe(self, tenant_id: str, last_event_id: str | None) -> Subscription:
        """A new client; with ``last_event_id``, queued with what it missed (or a resync)."""
        subscription = Subscription(tenant_id, asyncio.Queue(), self._client_queue)
        if last_event_id:
            for item in self.replay(tenant_id, last_event_id):
                self._offer(subscription, item)
        self._subscribers.setdefault(tenant_id, set()).add(subscription)
        return subscription

    def replay(self, tenant_id: str, last_event_id: str) -> list[Item]:
        """The tenant's changes after ``last_event_id``, or one Resync if some may be gone."""
        try:
            seen = decode_position(last_event_id)
        except BadPosition:
            return [Resync(self.position_id)]
        for partition, floor in self._floor.items():
            if seen.get(partition, 0) < floor:
                return [Resync(self.position_id)]
        return [c for c in self._ring
                if c.tenant_id == tenant_id and c.offset >= seen.get(c.partition, 0)]

    def unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._subscribers.get(subscription.tenant_id)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[subscription.tenant_id]

    def close(self) -> None:
        for subscribers in self._subscribers.values():
            for subscription in subscribers:
                subscription.queue.put_nowait(Closed())

    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subscribers.values())

    def _offer(self, subscription: Subscription, item: Item) -> None:
        if subscription.overflowed:
            return
        if subscription.queue.qsize() >= subscription.capacity:
            # A client this far behind reloads instead of holding the replica's memory.
            subscription.overflowed = True
            while not subscription.queue.empty():
                subscription.queue.get_nowait()
            subscription.queue.put_nowait(Resync(self.position_id))
            return
        subscription.queue.put_nowait(item)


Render = Callable[[Change], Awaitable[dict[str, Any] | None]]


def frame(event: str, data: object, id: str | None = None) -> str:
    lines = [f"event: {event}"]
    if id is not None:
        lines.append(f"id: {id}")
    lines.append(f"data: {json.dumps(data, separators=(',', ':'))}")
    return "\n".join(lines) + "\n\n"


async def event_stream(hub: StreamHub, subscription: Subscription, render: Render,
                       ping_seconds: float, retry_ms: int = 3000) -> AsyncIterator[str]:
    """The SSE text for one client: ``ready`` (with the current id), then changes, resyncs and
    ``: ping`` comments, until the client leaves or the replica closes."""
    try:
        yield f"retry: {retry_ms}\n" + frame("ready", {}, hub.position_id)
        while True:
            try:
                item = await asyncio.wait_for(subscription.queue.get(), ping_seconds)
            except TimeoutError:
                yield ": ping\n\n"
                continue
            if isinstance(item, Closed):
                return
            if isinstance(item, Resync):
                subscription.overflowed = False
                yield frame("resync", {}, item.id)
                continue
            data = await render(item)
            if data is not None:
                yield frame("conversation.changed", data, item.id)
    finally:
        hub.unsubscribe(subscription)
