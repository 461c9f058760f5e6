"""When to try again: exponential backoff with jitter, Meta's pair-limit schedule, Retry-After."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

from shared.backoff import backoff_delay
from shared.cloud_errors import CodeRule, Handling


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempt budgets and delays. ``attempt`` counts from 1 (the first call)."""

    max_attempts: int = 6
    pair_limit_max_attempts: int = 5
    base_seconds: float = 0.5
    max_seconds: float = 30.0
    # Pair rate limit: Meta says "retry after 4^X seconds"; X counts the 131056 answers from 0.
    pair_limit_base: float = 4.0
    pair_limit_max_seconds: float = 300.0

    def attempts_for(self, rule: CodeRule) -> int:
        if rule.handling is Handling.RETRY_RECIPIENT:
            return self.pair_limit_max_attempts
        return min(self.max_attempts, rule.max_attempts or self.max_attempts)

    def delay(
        self,
        rule: CodeRule,
        attempt: int,
        retry_after: float | None = None,
        rng: Callable[[], float] = random.random,
    ) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1 = the first call)."""
        if rule.handling is Handling.RETRY_RECIPIENT:
            wait = min(self.pair_limit_max_seconds, self.pair_limit_base ** (attempt - 1))
            # A little jitter on top, never below Meta's schedule.
            wait *= 1 + 0.1 * rng()
        else:
            wait = backoff_delay(attempt, self.base_seconds, self.max_seconds, rng)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return wait


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date. None when absent or bad."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())
