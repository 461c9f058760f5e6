"""WhatsApp's typing indicator: how often it may be asked for, and how long a request stays true.

Pure: no I/O; the caller passes ``now``. inbox_api (the agents' ``POST .../typing``) and
outbound_sender (which makes the call) use the same rules.

Meta shows the indicator until the business replies or for 25 s
(/work/shared/whatsapp-cloud-api.md section 5), so one call per ~10 s of typing keeps it up
without spending the number's throughput: inbox_api lets one through per agent and conversation
every :data:`TYPING_INTERVAL`, and the sender (the only owner of a conversation's commands at a
time) at most one per conversation, whichever replica of inbox_api the agents reached. A request
that waited longer than :data:`TYPING_MAX_AGE` (a backlog, a restart) would show typing after
the fact: the sender drops it.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import datetime, timedelta

TYPING_INTERVAL = timedelta(seconds=10)
TYPING_MAX_AGE = timedelta(seconds=15)


def typing_wait(last: datetime | None, now: datetime,
                interval: timedelta = TYPING_INTERVAL) -> float:
    """Seconds until another indicator may be asked for after the one at ``last`` (0: now).
    A ``last`` in the future (a clock step back) counts as ``now``."""
    if last is None:
        return 0.0
    elapsed = max(timedelta(0), now - last)
    return max(0.0, (interval - elapsed).total_seconds())


def typing_stale(asked_at: datetime, now: datetime, max_age: timedelta = TYPING_MAX_AGE) -> bool:
    """True when an indicator asked for at ``asked_at`` is too old to show at ``now``."""
    return now - asked_at > max_age


class TypingThrottle:
    """The last indicator let through per key (in memory, bounded): one per ``interval``.

    ``take`` is check-and-record in one step, so two requests racing in one event loop cannot
    both pass; ``give_back`` undoes a take whose publish failed."""

    def __init__(self, interval: timedelta = TYPING_INTERVAL, max_keys: int = 100_000) -> None:
        self.interval = interval
        self.max_keys = max_keys
        self._last: dict[Hashable, datetime] = {}

    def take(self, key: Hashable, now: datetime) -> float:
        """0 and recorded when allowed; else the seconds to wait (nothing recorded)."""
        wait = typing_wait(self._last.get(key), now, self.interval)
        if wait > 0:
            return wait
        if len(self._last) >= self.max_keys:
            self._forget_before(now - self.interval)
        self._last[key] = now
        return 0.0

    def give_back(self, key: Hashable, taken_at: datetime) -> None:
        if self._last.get(key) == taken_at:
            del self._last[key]

    def _forget_before(self, cutoff: datetime) -> None:
        # Entries past their interval decide nothing any more; if all are recent, drop the
        # oldest half (a forgotten key can at worst show one indicator early).
        kept = {k: at for k, at in self._last.items() if at > cutoff}
        if len(kept) >= self.max_keys:
            recent = sorted(kept.items(), key=lambda item: item[1])[len(kept) // 2:]
            kept = dict(recent)
        self._last = kept

    def __len__(self) -> int:
        return len(self._last)
