"""The status webhooks planned for an accepted message: order, failures, shuffles, duplicates."""

from __future__ import annotations

import random

from sandbox.statuses import Behaviour, PlannedStatus, plan

STEADY = Behaviour(sent_delay_seconds=0.1, delivered_delay_seconds=0.3, read_delay_seconds=1.0,
                   delay_jitter=0.0)


def by_arrival(planned: list[PlannedStatus]) -> list[str]:
    return [p.status for p in sorted(planned, key=lambda p: p.arrives_after)]


class TestPlan:
    def test_sent_then_delivered_then_read_at_the_configured_delays(self) -> None:
        planned = plan(STEADY, random.Random(1))
        assert [(p.status, p.happens_after, p.arrives_after) for p in planned] == [
            ("sent", 0.1, 0.1), ("delivered", 0.3, 0.3), ("read", 1.0, 1.0)]

    def test_read_can_be_left_out(self) -> None:
        behaviour = STEADY.model_copy(update={"send_read_status": False})
        assert [p.status for p in plan(behaviour, random.Random(1))] == ["sent", "delivered"]

    def test_a_failed_message_gets_only_failed(self) -> None:
        assert [p.status for p in plan(STEADY, random.Random(1), failed=True)] == ["failed"]

    def test_jitter_never_puts_event_times_out_of_order(self) -> None:
        behaviour = Behaviour(sent_delay_seconds=0.2, delivered_delay_seconds=0.2,
                              read_delay_seconds=0.2, delay_jitter=1.0)
        rng = random.Random(7)
        for _ in range(200):
            times = [p.happens_after for p in plan(behaviour, rng)]
            assert times == sorted(times)
            assert all(t >= 0 for t in times)

    def test_out_of_order_shuffles_arrivals_but_not_event_times(self) -> None:
        behaviour = STEADY.model_copy(update={"out_of_order_probability": 1.0})
        rng = random.Random(3)
        for _ in range(50):
            planned = plan(behaviour, rng)
            assert [p.happens_after for p in planned] == [0.1, 0.3, 1.0]
            assert by_arrival(planned) != ["sent", "delivered", "read"]

    def test_duplicates_repeat_a_status_later_with_the_same_event_time(self) -> None:
        behaviour = STEADY.model_copy(update={"duplicate_probability": 1.0})
        planned = plan(behaviour, random.Random(5))
        assert sorted(p.status for p in planned) == sorted(["sent", "delivered", "read"] * 2)
        for status in ("sent", "delivered", "read"):
            first, again = (p for p in planned if p.status == status)
            assert first.happens_after == again.happens_after
            assert again.arrives_after >= first.arrives_after
