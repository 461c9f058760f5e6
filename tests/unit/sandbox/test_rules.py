"""Meta's rules in the sandbox: the 24 h window, template checks, throughput and pair limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sandbox.catalog import Catalog, TemplateSpec
from sandbox.errors import CloudApiError
from sandbox.requests import TemplateRef
from sandbox.rules import (
    NumberRates,
    PairRates,
    TokenBucket,
    check_template,
    check_window,
    window_open,
)

DAY = timedelta(hours=24)
LAST = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


class TestWindow:
    @pytest.mark.parametrize(("now", "is_open"), [
        (LAST, True),
        (LAST + DAY - timedelta(microseconds=1), True),
        (LAST + DAY, False),  # closed at exactly 24 h
        (LAST + DAY + timedelta(seconds=1), False),
        (LAST - timedelta(hours=1), True),  # the customer wrote "later" than now: still open
    ])
    def test_is_open_for_24_hours_after_the_customers_message(
        self, now: datetime, is_open: bool
    ) -> None:
        assert window_open(LAST, now, DAY) is is_open

    def test_is_closed_when_the_customer_never_wrote(self) -> None:
        assert window_open(None, LAST, DAY) is False

    def test_a_closed_window_refuses_with_131047(self) -> None:
        with pytest.raises(CloudApiError) as caught:
            check_window(LAST, LAST + DAY, DAY)
        assert caught.value.code == 131047
        assert "24 hours" in caught.value.details

    def test_an_open_window_allows(self) -> None:
        check_window(LAST, LAST + timedelta(hours=23), DAY)


def spec(status: str = "APPROVED", body: str = "Hi {{1}}, order {{2}}") -> TemplateSpec:
    return TemplateSpec(name="order_update", language="en_US", status=status, body_text=body)


class TestTemplates:
    def test_an_approved_template_with_the_right_count_passes(self) -> None:
        assert check_template(spec(), TemplateRef("order_update", "en_US", 2)) == spec()

    @pytest.mark.parametrize(("template", "ref", "code"), [
        (None, TemplateRef("nope", "en_US", 0), 132001),
        (spec("PENDING"), TemplateRef("order_update", "en_US", 2), 132001),
        (spec("REJECTED"), TemplateRef("order_update", "en_US", 2), 132001),
        (spec("PAUSED"), TemplateRef("order_update", "en_US", 2), 132015),
        (spec("DISABLED"), TemplateRef("order_update", "en_US", 2), 132016),
        (spec(), TemplateRef("order_update", "en_US", 1), 132000),
        (spec(), TemplateRef("order_update", "en_US", 3), 132000),
    ])
    def test_refusals_carry_metas_code(
        self, template: TemplateSpec | None, ref: TemplateRef, code: int
    ) -> None:
        with pytest.raises(CloudApiError) as caught:
            check_template(template, ref)
        assert caught.value.code == code

    def test_parameter_count_comes_from_distinct_placeholders(self) -> None:
        assert spec(body="{{1}} and {{ 2 }} then {{1}} again").body_parameters == 2
        assert spec(body="Hi {{first_name}}").body_parameters == 1
        assert TemplateSpec(name="t", body_text="{{1}}", parameter_count=3).body_parameters == 3

    def test_status_and_category_are_upper_case(self) -> None:
        template = TemplateSpec(name="t", status="paused", category="marketing")
        assert (template.status, template.category) == ("PAUSED", "MARKETING")

    def test_catalog_finds_by_language_and_prefers_the_accounts_own(self) -> None:
        shared = TemplateSpec(name="t", language="en_US", body_text="shared")
        own = TemplateSpec(name="t", language="en_US", body_text="own", waba_id="W1")
        catalog = Catalog(templates=[shared, own])
        assert catalog.template("W1", "t", "en_US") == own
        assert catalog.template("W2", "t", "en_US") == shared
        assert catalog.template("W1", "t", "pt_BR") is None

    def test_putting_a_template_again_replaces_it(self) -> None:
        catalog = Catalog(templates=[spec()])
        catalog.put_template(spec("PAUSED"))
        assert catalog.template("any", "order_update", "en_US") == spec("PAUSED")
        assert len(catalog.templates()) == 1


class TestTokenBucket:
    def test_allows_a_burst_of_its_capacity_then_refuses(self) -> None:
        bucket = TokenBucket(rate=10, capacity=10, now=0.0)
        assert [bucket.take(0.0) for _ in range(11)] == [True] * 10 + [False]

    def test_refills_at_its_rate(self) -> None:
        bucket = TokenBucket(rate=10, capacity=10, now=0.0)
        for _ in range(10):
            bucket.take(0.0)
        assert bucket.take(0.05) is False  # half a token
        assert bucket.take(0.1) is True
        assert bucket.take(0.1) is False
        assert bucket.wait_seconds() == pytest.approx(0.1)

    def test_never_saves_more_than_its_capacity(self) -> None:
        bucket = TokenBucket(rate=10, capacity=10, now=0.0)
        assert sum(bucket.take(3600.0) for _ in range(20)) == 10

    def test_a_steady_rate_at_the_limit_is_never_refused(self) -> None:
        bucket = TokenBucket(rate=1000, capacity=1000, now=0.0)
        assert all(bucket.take(i / 1000) for i in range(5000))


class TestNumberRates:
    def test_each_number_has_its_own_throughput(self) -> None:
        rates = NumberRates(burst_seconds=1.0)
        assert sum(rates.allow("A", 80, 0.0) for _ in range(100)) == 80
        assert sum(rates.allow("B", 1000, 0.0) for _ in range(1100)) == 1000

    def test_a_changed_throughput_takes_effect(self) -> None:
        rates = NumberRates(burst_seconds=1.0)
        assert sum(rates.allow("A", 80, 0.0) for _ in range(100)) == 80
        assert sum(rates.allow("A", 200, 0.0) for _ in range(300)) == 200

    def test_the_refusal_is_130429_with_retry_after(self) -> None:
        error = NumberRates(1.0).refused(80, retry_after=2)
        assert (error.code, error.http_status, error.retry_after) == (130429, 429, 2)
        assert (b"retry-after", b"2") in error.headers()


class TestPairRates:
    def test_one_customer_gets_its_burst_then_131056(self) -> None:
        pairs = PairRates(rate=1 / 6, burst=3)
        for _ in range(3):
            pairs.check("A", "1555", 0.0)
        with pytest.raises(CloudApiError) as caught:
            pairs.check("A", "1555", 0.0)
        assert caught.value.code == 131056
        assert caught.value.retry_after == 6
        pairs.check("A", "1666", 0.0)  # another customer is not limited
        pairs.check("A", "1555", 6.0)  # one message per 6 s again

    def test_forgets_the_least_recently_used_pairs_beyond_its_bound(self) -> None:
        pairs = PairRates(rate=1 / 6, burst=1, max_pairs=2)
        pairs.check("A", "1", 0.0)
        pairs.check("A", "2", 0.0)
        pairs.check("A", "3", 0.0)  # "1" is forgotten, so it starts afresh
        pairs.check("A", "1", 0.0)
