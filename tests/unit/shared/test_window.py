from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.window import (
    TEMPLATE_HINT,
    WINDOW,
    Allowed,
    MessageKind,
    RefusalReason,
    Refused,
    decide,
    is_window_open,
    window_expires_at,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
FREE = MessageKind.FREE_FORM
TEMPLATE = MessageKind.TEMPLATE


class TestFreeForm:
    def test_refused_as_first_contact_when_customer_never_wrote(self):
        decision = decide(FREE, None, NOW)
        assert isinstance(decision, Refused)
        assert decision.reason is RefusalReason.FIRST_CONTACT_REQUIRES_TEMPLATE
        assert "template" in decision.hint.lower()

    @pytest.mark.parametrize(
        "age",
        [
            timedelta(0),
            timedelta(seconds=1),
            timedelta(hours=23, minutes=59, seconds=59),
            WINDOW - timedelta(microseconds=1),
        ],
    )
    def test_allowed_inside_the_window(self, age):
        decision = decide(FREE, NOW - age, NOW)
        assert decision == Allowed(NOW - age + WINDOW)

    @pytest.mark.parametrize(
        "age", [WINDOW, WINDOW + timedelta(microseconds=1), timedelta(days=30)]
    )
    def test_refused_at_and_after_24_hours(self, age):
        decision = decide(FREE, NOW - age, NOW)
        assert isinstance(decision, Refused)
        assert decision.reason is RefusalReason.WINDOW_EXPIRED

    def test_inbound_time_in_the_future_counts_as_open(self):
        # Meta's clock a little ahead of ours must not close the window.
        decision = decide(FREE, NOW + timedelta(seconds=5), NOW)
        assert isinstance(decision, Allowed)

    def test_other_time_zones_compare_by_instant(self):
        plus_five = timezone(timedelta(hours=5))
        last = (NOW - timedelta(hours=23)).astimezone(plus_five)
        assert isinstance(decide(FREE, last, NOW), Allowed)
        last = (NOW - timedelta(hours=25)).astimezone(plus_five)
        assert isinstance(decide(FREE, last, NOW), Refused)

    def test_template_status_is_irrelevant_to_free_form(self):
        assert isinstance(decide(FREE, NOW, NOW, template_status="REJECTED"), Allowed)


class TestTemplate:
    @pytest.mark.parametrize("last", [None, NOW - timedelta(hours=1), NOW - timedelta(days=3)])
    def test_approved_template_allowed_whatever_the_window(self, last):
        assert isinstance(decide(TEMPLATE, last, NOW, template_status="APPROVED"), Allowed)

    def test_approved_is_case_insensitive(self):
        assert isinstance(decide(TEMPLATE, None, NOW, template_status="approved"), Allowed)

    @pytest.mark.parametrize(
        "status", ["PENDING", "REJECTED", "PAUSED", "DISABLED", "IN_APPEAL", "DELETED", None, ""]
    )
    def test_unapproved_or_unknown_template_refused(self, status):
        decision = decide(TEMPLATE, NOW - timedelta(hours=1), NOW, template_status=status)
        assert isinstance(decision, Refused)
        assert decision.reason is RefusalReason.TEMPLATE_NOT_APPROVED

    def test_reports_open_window_expiry_only_while_open(self):
        inside = decide(TEMPLATE, NOW - timedelta(hours=1), NOW, template_status="APPROVED")
        outside = decide(TEMPLATE, NOW - timedelta(hours=25), NOW, template_status="APPROVED")
        assert inside == Allowed(NOW + timedelta(hours=23))
        assert outside == Allowed(None)


class TestWindowArithmetic:
    def test_expiry_is_24_hours_after_last_inbound(self):
        assert window_expires_at(NOW) == NOW + timedelta(hours=24)
        assert window_expires_at(None) is None

    def test_open_is_strictly_before_expiry(self):
        assert is_window_open(NOW - WINDOW + timedelta(seconds=1), NOW)
        assert not is_window_open(NOW - WINDOW, NOW)
        assert not is_window_open(None, NOW)

    def test_naive_datetimes_are_rejected(self):
        with pytest.raises(ValueError, match="timezone-aware"):
            decide(FREE, None, datetime(2026, 1, 1))
        with pytest.raises(ValueError, match="timezone-aware"):
            decide(FREE, datetime(2026, 1, 1), NOW)


class TestClosedByMeta:
    """Meta answered 131047 (``closed_at``): closed whatever our clock says, until the customer
    writes again."""

    def test_report_after_the_last_message_closes_a_window_our_clock_thinks_open(self):
        last = NOW - timedelta(hours=1)
        decision = decide(FREE, last, NOW, closed_at=NOW - timedelta(minutes=1))
        assert isinstance(decision, Refused)
        assert decision.reason is RefusalReason.WINDOW_EXPIRED
        assert decision.hint == TEMPLATE_HINT
        assert not is_window_open(last, NOW, NOW - timedelta(minutes=1))

    def test_report_at_the_same_instant_as_the_last_message_closes(self):
        last = NOW - timedelta(hours=1)
        assert isinstance(decide(FREE, last, NOW, closed_at=last), Refused)

    def test_report_in_our_future_closes_too(self):
        # Meta's clock ahead of ours: its report still counts.
        last = NOW - timedelta(hours=1)
        assert isinstance(decide(FREE, last, NOW, closed_at=NOW + timedelta(hours=2)), Refused)

    def test_a_later_customer_message_reopens(self):
        last = NOW - timedelta(minutes=1)
        decision = decide(FREE, last, NOW, closed_at=last - timedelta(microseconds=1))
        assert decision == Allowed(last + WINDOW)
        assert is_window_open(last, NOW, last - timedelta(seconds=1))

    def test_first_contact_stays_first_contact(self):
        decision = decide(FREE, None, NOW, closed_at=NOW - timedelta(minutes=1))
        assert isinstance(decision, Refused)
        assert decision.reason is RefusalReason.FIRST_CONTACT_REQUIRES_TEMPLATE

    def test_expired_by_our_clock_keeps_its_own_message(self):
        last = NOW - timedelta(days=2)
        with_report = decide(FREE, last, NOW, closed_at=NOW - timedelta(hours=1))
        without = decide(FREE, last, NOW)
        assert with_report == without

    def test_approved_template_goes_and_reports_no_open_window(self):
        last = NOW - timedelta(hours=1)
        decision = decide(TEMPLATE, last, NOW, template_status="APPROVED", closed_at=NOW)
        assert decision == Allowed(None)

    @pytest.mark.parametrize(("last", "closed", "open_"), [
        (None, None, False),
        (None, NOW, False),
        (NOW - timedelta(hours=1), None, True),
        (NOW - timedelta(hours=1), NOW - timedelta(hours=2), True),
        (NOW - timedelta(hours=1), NOW - timedelta(hours=1), False),
        (NOW - timedelta(hours=25), NOW - timedelta(hours=26), False),
    ])
    def test_open_agrees_with_the_free_form_decision(self, last, closed, open_):
        assert is_window_open(last, NOW, closed) is open_
        assert isinstance(decide(FREE, last, NOW, closed_at=closed), Allowed) is open_

    def test_naive_report_is_rejected(self):
        with pytest.raises(ValueError, match="timezone-aware"):
            decide(FREE, NOW, NOW, closed_at=datetime(2026, 1, 1))
