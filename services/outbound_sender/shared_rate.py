"""A business number's rate shared by every sender replica: one bucket in the database, leased.

Meta's limit is per number, but a number's commands are keyed by conversation, so they spread
over every partition and thus over every replica. Instead of a hand-set share per replica, the
number has ONE token bucket (``send_rate_buckets``, one document per number) and each replica
leases a few tokens at a time from it with a compare-and-set on the document's version. Any
number of replicas, joining or leaving at any time, then share the rate with no configuration.

Pure rules (time is an argument, wall-clock seconds since the epoch, the same on every replica
up to clock skew): :func:`lease` (the bucket math), :func:`lease_size` (how many to ask for),
:class:`LocalLease` (the tokens one replica holds, with the ``take`` interface :class:`Pacer`
expects). The I/O is in ``adapters/rate_mongo.py``.

The global bound: a bucket never grants more than ``capacity + rate * t`` tokens over ``t``
seconds, and a replica spends a leased token within ``hold_seconds`` or drops it; so over any
window of ``t`` seconds all replicas together send at most ``capacity + rate * (t +
hold_seconds)``. Unused tokens are lost, never returned: the error is on the slow side only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class BucketState:
    """One number's shared bucket: ``tokens`` at wall-clock ``updated``; ``version`` for CAS."""

    tokens: float
    updated: float
    version: int = 0


@dataclass(frozen=True, slots=True)
class Grant:
    granted: int
    state: BucketState  # to write back (if ``granted``) with the version compare
    retry_after: float  # seconds until ``want`` tokens could be there (0 when granted)


def refill(state: BucketState | None, now: float, rate: float, capacity: float) -> BucketState:
    """The bucket at ``now``: full when new; never refilled backwards (a replica whose clock is
    behind sees the bucket as it was last written, not earlier)."""
    if state is None:
        return BucketState(tokens=capacity, updated=now, version=0)
    if now <= state.updated:
        return BucketState(min(state.tokens, capacity), state.updated, state.version)
    tokens = min(capacity, state.tokens + (now - state.updated) * rate)
    return BucketState(tokens, now, state.version)


def lease(state: BucketState | None, now: float, rate: float, capacity: float,
          want: int) -> Grant:
    """Take up to ``want`` whole tokens from the bucket (as many as are there)."""
    if rate <= 0 or capacity < 1 or want < 1:
        raise ValueError("rate must be > 0, capacity >= 1 and want >= 1")
    current = refill(state, now, rate, capacity)
    granted = min(want, math.floor(current.tokens + _EPSILON))
    if granted <= 0:
        # Come back when the whole lease is there: replicas then lease in batches, not a token
        # per round trip each.
        missing = min(want, capacity) - current.tokens
        ahead = max(0.0, current.updated - now)
        return Grant(0, current, ahead + missing / rate)
    after = BucketState(max(0.0, current.tokens - granted), current.updated, current.version + 1)
    return Grant(granted, after, 0.0)


def lease_size(rate: float, lease_seconds: float, waiting: int) -> int:
    """Tokens to ask for: ``lease_seconds`` of the rate, but no more than the sends waiting here
    (an idle replica does not hoard a busy number's tokens), and at least one."""
    return max(1, min(math.ceil(rate * lease_seconds), max(1, waiting)))


def bucket_capacity(rate: float, burst_seconds: float) -> float:
    """The shared burst: ``burst_seconds`` of the rate (at least one lease's), at least two."""
    return max(2.0, math.floor(rate * burst_seconds))


class LocalLease:
    """The tokens this replica holds for one number, with :class:`TokenBucket`'s interface.

    ``take`` spends a held token, or asks ``request`` (which leases in the background) and
    tells the pacer how long to wait. Tokens older than ``hold_seconds`` are dropped.
    Time here is the replica's monotonic clock.
    """

    def __init__(self, rate: float, capacity: float, now: float,
                 request: Callable[[], None], hold_seconds: float = 0.5,
                 poll_seconds: float = 0.005, burst: float | None = None) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("rate must be > 0 and capacity >= 1")
        self.rate = rate
        self.capacity = capacity
        # Held tokens leave no faster than the rate, ``burst`` at once (a per-replica bucket's
        # burst): a lease is a batch for the database's sake, not a burst for Meta's. Without
        # it, tokens saved up in the shared bucket while a lease was on its way leave together.
        self.burst = capacity if burst is None else max(1.0, burst)
        self.next_slot = now  # the theoretical time of the next send (GCRA)
        self.tokens = 0
        self.expires = now
        self.updated = now  # blocked until (see block_until)
        self.retry_at = now  # the database said: none before this
        self._request = request
        self.hold_seconds = hold_seconds
        self.poll_seconds = poll_seconds
        self.pending = False  # a lease request is on its way
        # Ask for the next lease when this many tokens are left (half the last grant), so the
        # round trip to the database overlaps the spending of what is held.
        self.low = 0

    def add(self, granted: int, now: float, retry_after: float = 0.0) -> None:
        """A lease came back: ``granted`` tokens (0: retry after ``retry_after`` seconds)."""
        self.pending = False
        if granted > 0:
            if now >= self.expires:
                self.tokens = 0
            self.tokens += granted
            self.expires = now + self.hold_seconds
            self.low = granted // 2
        else:
            self.retry_at = now + retry_after

    def failed(self) -> None:
        self.pending = False

    def take(self, now: float) -> float:
        if now < self.updated:
            return self.updated - now
        if self.tokens > 0 and now >= self.expires:
            self.tokens = 0  # held too long: spending it now could exceed the global rate
        if self.tokens > 0:
            earliest = self.next_slot - (self.burst - 1) / self.rate
            if now + _EPSILON < earliest:
                return earliest - now
            self.tokens -= 1
            self.next_slot = max(self.next_slot, now) + 1 / self.rate
            if self.tokens <= self.low:
                self._ask(now)
            return 0.0
        self._ask(now)
        return max(self.poll_seconds, self.retry_at - now)

    def _ask(self, now: float) -> None:
        if not self.pending and now >= self.retry_at:
            self.pending = True
            self._request()

    def refund(self, now: float) -> None:
        if now < self.expires:
            self.tokens += 1
            self.next_slot -= 1 / self.rate

    def block_until(self, until: float) -> None:
        self.tokens = 0
        self.updated = max(self.updated, until)

    def set_rate(self, rate: float, capacity: float, now: float,
                 burst: float | None = None) -> None:
        self.rate = rate
        self.capacity = capacity
        if burst is not None:
            self.burst = max(1.0, burst)
