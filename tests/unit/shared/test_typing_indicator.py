"""The typing indicator's rules (shared/typing_indicator.py): spacing and staleness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.typing_indicator import (
    TYPING_INTERVAL,
    TYPING_MAX_AGE,
    TypingThrottle,
    typing_stale,
    typing_wait,
)

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(("last", "now", "wait"), [
    (None, 0, 0.0),          # never asked: now
    (0, 0, 10.0),            # just asked: the whole interval
    (0, 4, 6.0),
    (0, 9.5, 0.5),
    (0, 10, 0.0),            # exactly the interval: allowed
    (0, 60, 0.0),
    (5, 0, 10.0),            # a clock step back counts as "just now", never as allowed
])
def test_typing_wait(last: float | None, now: float, wait: float) -> None:
    assert typing_wait(None if last is None else at(last), at(now)) == pytest.approx(wait)


@pytest.mark.parametrize(("asked", "now", "stale"), [
    (0, 0, False),
    (0, TYPING_MAX_AGE.total_seconds(), False),   # at the bound: still shown
    (0, TYPING_MAX_AGE.total_seconds() + 0.001, True),
    (10, 0, False),                                # asked "in the future" (skew): not stale
])
def test_typing_stale(asked: float, now: float, stale: bool) -> None:
    assert typing_stale(at(asked), at(now)) is stale


class TestThrottle:
    def test_one_per_interval_per_key(self) -> None:
        throttle = TypingThrottle()
        assert throttle.take("a", at(0)) == 0
        assert throttle.take("a", at(3)) == pytest.approx(7)
        assert throttle.take("b", at(3)) == 0  # another agent or conversation
        assert throttle.take("a", at(10)) == 0
        # Spaced from the last one let through.
        assert throttle.take("a", at(12)) == pytest.approx(8)

    def test_refused_takes_record_nothing(self) -> None:
        throttle = TypingThrottle()
        throttle.take("a", at(0))
        for second in range(1, 10):
            throttle.take("a", at(second))
        assert throttle.take("a", at(TYPING_INTERVAL.total_seconds())) == 0

    def test_give_back_undoes_only_its_own_take(self) -> None:
        throttle = TypingThrottle()
        throttle.take("a", at(0))
        throttle.give_back("a", at(0))
        assert throttle.take("a", at(1)) == 0
        throttle.give_back("a", at(0))  # not the take at 1 s: kept
        assert throttle.take("a", at(2)) > 0

    def test_memory_is_bounded(self) -> None:
        throttle = TypingThrottle(max_keys=4)
        for key in range(4):
            throttle.take(key, at(0))
        throttle.take("late", at(11))  # the old ones are past their interval: forgotten
        assert len(throttle) == 1
        for key in range(10):
            throttle.take(key, at(12 + key / 100))
        assert len(throttle) <= 4
        assert throttle.take(9, at(12.5)) > 0  # the newest are kept
