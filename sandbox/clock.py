"""The sandbox's clock: a base clock plus an offset that tests move (e.g. 24 h forward)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta


def utcnow() -> datetime:
    return datetime.now(UTC)


class OffsetClock:
    """``now()`` is the base clock plus an offset; only the offset ever changes."""

    def __init__(self, base: Callable[[], datetime] = utcnow) -> None:
        self._base = base
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return self._base() + self.offset

    def advance(self, by: timedelta) -> datetime:
        self.offset += by
        return self()

    def reset(self) -> None:
        self.offset = timedelta(0)
