from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from services.outbound_sender.retry import RetryPolicy, parse_retry_after
from shared.cloud_errors import ERROR_TABLE

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=6, base_seconds=0.5, max_seconds=30)
OVERLOADED = ERROR_TABLE[131016]
PAIR_LIMIT = ERROR_TABLE[131056]


class TestBackoff:
    @pytest.mark.parametrize(("attempt", "step"), [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0),
                                                   (8, 30.0), (20, 30.0)])
    def test_exponential_with_jitter_between_half_and_full_step(self, attempt, step):
        assert POLICY.delay(OVERLOADED, attempt, rng=lambda: 0.0) == pytest.approx(step / 2)
        assert POLICY.delay(OVERLOADED, attempt, rng=lambda: 1.0) == pytest.approx(step)

    def test_jitter_spreads_retries(self):
        delays = {POLICY.delay(OVERLOADED, 3, rng=lambda v=v: v)  # type: ignore[misc]
                  for v in (0.1, 0.4, 0.9)}
        assert len(delays) == 3

    def test_retry_after_is_honoured_when_longer(self):
        assert POLICY.delay(OVERLOADED, 1, retry_after=12.0, rng=lambda: 0.5) == 12.0
        assert POLICY.delay(OVERLOADED, 4, retry_after=0.1, rng=lambda: 1.0) == 4.0

    @pytest.mark.parametrize(("attempt", "wait"), [(1, 1), (2, 4), (3, 16), (4, 64)])
    def test_pair_limit_follows_metas_four_to_the_x(self, attempt, wait):
        assert POLICY.delay(PAIR_LIMIT, attempt, rng=lambda: 0.0) == wait
        assert wait <= POLICY.delay(PAIR_LIMIT, attempt, rng=lambda: 1.0) <= wait * 1.1

    def test_attempt_budgets(self):
        assert POLICY.attempts_for(OVERLOADED) == 6
        assert POLICY.attempts_for(ERROR_TABLE[131000]) == 3
        assert RetryPolicy(pair_limit_max_attempts=4).attempts_for(PAIR_LIMIT) == 4


class TestRetryAfter:
    def test_seconds(self):
        assert parse_retry_after("7", NOW) == 7.0
        assert parse_retry_after(" 1.5 ", NOW) == 1.5

    def test_http_date(self):
        value = format_datetime(NOW + timedelta(seconds=30), usegmt=True)
        assert parse_retry_after(value, NOW) == pytest.approx(30.0)

    def test_past_date_means_now(self):
        value = format_datetime(NOW - timedelta(seconds=30), usegmt=True)
        assert parse_retry_after(value, NOW) == 0.0

    @pytest.mark.parametrize("value", [None, "", "soon", "-"])
    def test_absent_or_garbage_is_none(self, value):
        assert parse_retry_after(value, NOW) is None
