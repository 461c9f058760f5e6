"""Per-number pacing: a token bucket at the number's throughput, replies served before bulk.

Meta limits each business number (80 messages/s by default, up to 1,000): the bucket is per
number, so one tenant's campaign never takes another number's capacity. On one number, waiting
agent replies always get the next token before bulk (campaign) sends, and bulk sends take turns
by campaign, so two campaigns on one number share it instead of running one after the other.

:class:`TokenBucket` is pure (time is an argument). :class:`Pacer` adds the waiting, with an
injected monotonic clock and sleep, so tests drive it with a fake clock.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from typing import Protocol

from services.outbound_sender.shared_rate import Grant, LocalLease, bucket_capacity, lease_size
from shared.channels import Channel
from shared.events.commands import Priority

log = logging.getLogger(__name__)

Monotonic = Callable[[], float]
_EPSILON = 1e-9
Sleep = Callable[[float], Awaitable[None]]


class Bucket(Protocol):
    """What a :class:`Pacer` takes its slots from: a local :class:`TokenBucket`, or the tokens
    leased from the number's shared bucket (:class:`~.shared_rate.LocalLease`)."""

    rate: float
    updated: float

    def take(self, now: float) -> float: ...
    def refund(self, now: float) -> None: ...
    def block_until(self, until: float) -> None: ...
    def set_rate(self, rate: float, capacity: float, now: float) -> None: ...


class RateLeases(Protocol):
    """The shared buckets (adapters/rate_mongo.py)."""

    async def lease(self, number: str, rate: float, capacity: float, want: int) -> Grant: ...


class TokenBucket:
    """``rate`` tokens per second, at most ``capacity`` saved up. Times are monotonic seconds."""

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("rate must be > 0 and capacity >= 1")
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = now

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def take(self, now: float) -> float:
        """Take one token: 0.0 if taken, else the seconds until one will be there (none taken)."""
        self._refill(now)
        if self.tokens >= 1 - _EPSILON:  # float sums of (elapsed * rate) fall a hair short
            self.tokens = max(0.0, self.tokens - 1)
            return 0.0
        if now < self.updated:  # blocked (see :meth:`block_until`)
            return self.updated - now + (1 - self.tokens) / self.rate
        return (1 - self.tokens) / self.rate

    def refund(self, now: float) -> None:
        """Give back a token taken but not used (the send turned out to be a duplicate)."""
        self._refill(now)
        self.tokens = min(self.capacity, self.tokens + 1)

    def block_until(self, until: float) -> None:
        """No token before ``until`` (Meta said the number is over its limit), none saved."""
        self.tokens = 0.0
        self.updated = max(self.updated, until)

    def set_rate(self, rate: float, capacity: float, now: float) -> None:
        self._refill(now)
        self.rate = rate
        self.capacity = capacity
        self.tokens = min(self.tokens, capacity)


def capacity_for(rate: float, burst_seconds: float) -> float:
    """Tokens saved up at most: ``burst_seconds`` worth of the rate, at least two. With room for
    one token only, a pacer woken a little late (timers, a busy loop) would lose that time on
    every send instead of catching up: a slow number would run a few percent under its rate."""
    return max(2.0, math.floor(rate * burst_seconds))


class Pacer:
    """One number's send slots: ``await acquire(priority)`` returns when a slot is yours."""

    def __init__(self, bucket: Bucket, monotonic: Monotonic, sleep: Sleep) -> None:
        self.bucket = bucket
        self._monotonic = monotonic
        self._sleep = sleep
        self._replies: deque[asyncio.Future[None]] = deque()
        # Bulk waiters per campaign, served in turn (None = no campaign).
        self._bulk: OrderedDict[str | None, deque[asyncio.Future[None]]] = OrderedDict()
        self._pump_task: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        return len(self._replies) + sum(len(q) for q in self._bulk.values())

    async def acquire(self, priority: Priority = "reply", campaign_id: str | None = None) -> None:
        queued = bool(self._replies) if priority == "reply" else self.waiting > 0
        if not queued and self.bucket.take(self._monotonic()) == 0.0:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if priority == "reply":
            self._replies.append(future)
        else:
            self._bulk.setdefault(campaign_id, deque()).append(future)
        if self._pump_task is None or self._pump_task.done():
            self._pump_task = asyncio.create_task(self._pump())
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.refund()  # granted just as we were cancelled: not used
            raise

    def refund(self) -> None:
        self.bucket.refund(self._monotonic())

    def penalize(self, seconds: float) -> None:
        """Hold every send of this number for ``seconds`` (Meta's throughput error)."""
        self.bucket.block_until(self._monotonic() + seconds)

    def _next(self) -> asyncio.Future[None] | None:
        while self._replies:
            future = self._replies.popleft()
            if not future.done():
                return future
        while self._bulk:
            campaign, queue = next(iter(self._bulk.items()))
            waiter = queue.popleft() if queue else None
            if queue:
                self._bulk.move_to_end(campaign)  # next campaign's turn
            else:
                del self._bulk[campaign]
            if waiter is not None and not waiter.done():
                return waiter
        return None

    async def _pump(self) -> None:
        while self.waiting:
            wait = self.bucket.take(self._monotonic())
            if wait > 0:
                await self._sleep(wait)
                continue
            future = self._next()
            if future is None:
                self.refund()
                return
            future.set_result(None)


class Pacers:
    """A pacer per business number, at the channel's throughput (updated when it changes).

    Without ``leases``, each pacer has its own bucket at ``share`` of the rate (one replica, or
    the old hand-set 1/N). With ``leases``, every replica takes its tokens from the number's one
    shared bucket (shared_rate.py), so the rate holds whatever the number of replicas.
    """

    def __init__(self, burst_seconds: float, monotonic: Monotonic, sleep: Sleep,
                 share: float = 1.0, leases: RateLeases | None = None,
                 lease_seconds: float = 0.15, hold_seconds: float = 0.2) -> None:
        self.burst_seconds = burst_seconds
        self.monotonic = monotonic
        self.sleep = sleep
        # The part of the number's throughput the sender may use (inbound counts too at Meta).
        self.share = share
        self.leases = leases
        self.lease_seconds = lease_seconds
        self.hold_seconds = hold_seconds
        self._pacers: dict[str, Pacer] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def for_channel(self, channel: Channel) -> Pacer:
        rate = max(0.1, channel.throughput_mps * self.share)
        number = channel.phone_number_id
        pacer = self._pacers.get(number)
        if pacer is None:
            bucket: Bucket
            if self.leases is None:
                bucket = TokenBucket(rate, capacity_for(rate, self.burst_seconds),
                                     self.monotonic())
            else:
                bucket = LocalLease(rate, self._shared_capacity(rate), self.monotonic(),
                                    lambda: self._request(number),
                                    hold_seconds=self.hold_seconds,
                                    burst=capacity_for(rate, self.burst_seconds))
            pacer = self._pacers[number] = Pacer(bucket, self.monotonic, self.sleep)
        elif pacer.bucket.rate != rate:
            capacity = (capacity_for(rate, self.burst_seconds) if self.leases is None
                        else self._shared_capacity(rate))
            if isinstance(pacer.bucket, LocalLease):
                pacer.bucket.set_rate(rate, capacity, self.monotonic(),
                                      burst=capacity_for(rate, self.burst_seconds))
            else:
                pacer.bucket.set_rate(rate, capacity, self.monotonic())
        return pacer

    def _shared_capacity(self, rate: float) -> float:
        # Two leases' worth: the bucket keeps refilling while a lease makes its round trip.
        return bucket_capacity(rate, max(self.burst_seconds, 2 * self.lease_seconds))

    def _request(self, number: str) -> None:
        task = asyncio.get_running_loop().create_task(self._lease(number))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _lease(self, number: str) -> None:
        pacer = self._pacers[number]
        bucket = pacer.bucket
        assert isinstance(bucket, LocalLease)
        assert self.leases is not None
        try:
            want = lease_size(bucket.rate, self.lease_seconds, pacer.waiting + 1)
            grant = await self.leases.lease(number, bucket.rate, bucket.capacity, want)
        except Exception as exc:  # the database is away: no tokens (never sends unpaced)
            log.warning("cannot lease send tokens", extra={
                "phone_number_id": number, "error": type(exc).__name__})
            bucket.failed()
            bucket.retry_at = self.monotonic() + 0.5
            return
        bucket.add(grant.granted, self.monotonic(), grant.retry_after)

    def waiting(self) -> dict[str, int]:
        return {number: p.waiting for number, p in self._pacers.items() if p.waiting}
