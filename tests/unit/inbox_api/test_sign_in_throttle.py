"""The sign-in throttle's rule (accounts/throttle.py): pure, with an explicit ``now``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.inbox_api.accounts.throttle import (
    PER_CLIENT,
    PER_EMAIL,
    Limit,
    after_failure,
    client_key,
    email_key,
    retry_after,
    wait_message,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
FIVE_IN_15 = Limit(5, timedelta(minutes=15))


def ago(*minutes: float) -> list[datetime]:
    return [NOW - timedelta(minutes=m) for m in minutes]


class TestRetryAfter:
    @pytest.mark.parametrize(("failures", "expected"), [
        ([], None),
        (ago(1, 2, 3, 4), None),                       # four: one more try
        (ago(1, 2, 3, 4, 5), 10 * 60),                 # five: wait until the oldest is 15 min old
        (ago(0, 0, 0, 0, 0), 15 * 60),                 # five just now: the whole window
        (ago(1, 2, 3, 4, 20), None),                   # the fifth is outside the window
        (ago(1, 2, 3, 4, 15), None),                   # exactly 15 min old no longer counts
        (ago(1, 2, 3, 4, 5, 6, 7), 10 * 60),           # more than five: the fifth newest counts
        (ago(14.999, 1, 1, 1, 1), 1),                  # under a second left: still one second
    ])
    def test_waits_until_the_oldest_counted_failure_leaves_the_window(
            self, failures: list[datetime], expected: int | None) -> None:
        assert retry_after(failures, FIVE_IN_15, NOW) == expected

    def test_future_failures_do_not_count(self) -> None:
        # A clock that went back must not lock anyone out for longer than the window.
        assert retry_after([NOW + timedelta(minutes=5)] * 5, FIVE_IN_15, NOW) is None

    def test_the_email_limit_is_five_in_15_minutes_and_the_clients_larger(self) -> None:
        assert (PER_EMAIL.failures, PER_EMAIL.window) == (5, timedelta(minutes=15))
        assert PER_CLIENT.failures > PER_EMAIL.failures
        assert PER_CLIENT.window == PER_EMAIL.window


class TestAfterFailure:
    def test_keeps_only_what_still_counts_and_at_most_the_limit(self) -> None:
        kept = after_failure(ago(30, 6, 5, 4, 3, 2, 1), FIVE_IN_15, NOW)
        assert kept == [*ago(4, 3, 2, 1), NOW]

    def test_the_fifth_failure_throttles_the_next_attempt(self) -> None:
        failures: list[datetime] = []
        for _ in range(4):
            failures = after_failure(failures, FIVE_IN_15, NOW)
            assert retry_after(failures, FIVE_IN_15, NOW) is None
        failures = after_failure(failures, FIVE_IN_15, NOW)
        assert retry_after(failures, FIVE_IN_15, NOW) == 15 * 60


class TestKeysAndMessage:
    def test_an_email_is_one_key_whatever_its_case(self) -> None:
        assert email_key(" Ana@Acme.Test ") == email_key("ana@acme.test") == "email:ana@acme.test"
        assert client_key("10.0.0.1") == "client:10.0.0.1"

    @pytest.mark.parametrize(("seconds", "says"), [
        (1, "1 second."), (59, "59 seconds."), (60, "1 minute."), (61, "2 minutes."),
        (900, "15 minutes."),
    ])
    def test_says_how_long_to_wait(self, seconds: int, says: str) -> None:
        message = wait_message(seconds)
        assert message.startswith("Too many failed sign-ins")
        assert message.endswith(f"try again in {says}")
