"""Exponential backoff with "equal jitter": the one formula every retry loop uses.

Half of each exponential step is fixed and half random, so retries of many callers spread out
but none comes back at once.
"""

from __future__ import annotations

import random
from collections.abc import Callable


def backoff_delay(attempt: int, base_seconds: float, max_seconds: float,
                  rng: Callable[[], float] = random.random) -> float:
    """Seconds to wait before try ``attempt + 1`` (``attempt`` counts failures from 1)."""
    step = min(max_seconds, base_seconds * 2.0 ** min(max(attempt - 1, 0), 30))
    return step / 2 + rng() * step / 2


class Backoff:
    """Successive delays of one retry loop; :meth:`reset` after a success."""

    def __init__(self, base_seconds: float = 0.2, max_seconds: float = 10.0) -> None:
        self.base_seconds = base_seconds
        self.max_seconds = max_seconds
        self.attempt = 0

    def next(self) -> float:
        self.attempt += 1
        return backoff_delay(self.attempt, self.base_seconds, self.max_seconds)

    def reset(self) -> None:
        self.attempt = 0
