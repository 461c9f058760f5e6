"""Writes the sender must not lose: a ledger record or a published outcome, retried while the
database or broker is unavailable.

Losing one would turn a sent message into an unknown one, or lose its result; so a transient
dependency error (``shared.consumer.default_is_transient``) is waited out with capped backoff, and
anything else is raised to the consumer shell (handlers.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from services.outbound_sender import metrics
from shared.consumer import default_is_transient

log = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


async def durably(operation: Callable[[], Awaitable[T]], sleep: Sleep,
                  rng: Callable[[], float]) -> T:
    """Run ``operation`` until it succeeds; only transient dependency errors are retried."""
    attempt = 0
    while True:
        try:
            return await operation()
        except Exception as exc:
            if not default_is_transient(exc):
                raise
            attempt += 1
            metrics.DEPENDENCY_ERRORS.inc()
            log.warning("dependency unavailable; retrying a ledger or publish write",
                        extra={"attempt": attempt, "error": f"{type(exc).__name__}: {exc}"})
            await sleep(min(5.0, 0.1 * 2 ** min(attempt, 6)) * (0.5 + rng() / 2))
