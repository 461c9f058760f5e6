"""How many recipients a campaign may release now, and whether a lease may be taken. Pure.

The sender's own pacer is what holds a number to its throughput (and puts agent replies
first); the dispatcher only keeps its releases a little ahead of it, so that a pause takes
effect within about ``lead_seconds``: releases follow a bucket at ``rate`` that saves at most
``lead_seconds`` of it, and stop while the sender already holds that much for the number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

MESSAGING_LIMIT_WINDOW = timedelta(hours=24)


@dataclass(slots=True)
class ReleaseBudget:
    """A token bucket in recipients; time (monotonic seconds) is an argument."""

    rate: float
    lead_seconds: float
    tokens: float = 0.0
    at: float | None = None

    def refill(self, now: float) -> None:
        if self.at is not None:
            self.tokens = min(self.rate * self.lead_seconds,
                              self.tokens + self.rate * max(0.0, now - self.at))
        self.at = now

    def allowance(self, now: float, backlog: int, max_batch: int) -> int:
        """Recipients to release now: the bucket's whole tokens, less what the sender already
        holds beyond ``lead_seconds`` of the rate."""
        self.refill(now)
        room = self.rate * self.lead_seconds - backlog
        return max(0, min(int(self.tokens), int(room), max_batch))

    def spend(self, count: int) -> None:
        self.tokens = max(0.0, self.tokens - count)


def campaign_rate(throughput_mps: float, throughput_share: float, campaign_share: float) -> float:
    """Recipients per second one replica releases for a number (at least one every 10 s)."""
    return max(0.1, throughput_mps * throughput_share * campaign_share)


def step_size(rate: float, tick_seconds: float, max_batch: int) -> int:
    """Recipients one step releases at most: two ticks of the rate (room to catch up after a
    slow step), never more than ``max_batch``. Small steps reach the sender as a steady
    stream, not as bursts that its loop and the database digest at once ahead of a reply."""
    return max(1, min(max_batch, math.ceil(rate * tick_seconds * 2)))


def limit_room(messaging_limit: int | None, released_in_window: int) -> int | None:
    """Unique customers the number may still reach in the rolling 24 h (None: unlimited)."""
    if messaging_limit is None:
        return None
    return max(0, messaging_limit - released_in_window)


def hold_until(oldest_release_in_window: datetime | None) -> datetime | None:
    """When the limit frees a place again: the oldest release leaves the 24 h window."""
    if oldest_release_in_window is None:
        return None
    return oldest_release_in_window + MESSAGING_LIMIT_WINDOW


def lease_is_free(lease_owner: str | None, lease_until: datetime | None, owner: str,
                  now: datetime) -> bool:
    """A replica may take a campaign whose lease is free, expired, or its own (the same rule
    the conditional update's filter spells for the database)."""
    return lease_owner is None or lease_owner == owner or lease_until is None or lease_until < now


def lease_filter(owner: str, now: datetime) -> dict[str, object]:
    return {"$or": [{"lease_owner": None}, {"lease_owner": owner},
                    {"lease_until": {"$lt": now}}]}
