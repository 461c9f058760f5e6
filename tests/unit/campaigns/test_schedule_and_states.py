from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.inbox_api.campaigns.schedule import ScheduleError, to_utc
from services.inbox_api.campaigns.states import StateConflict, next_state

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


class TestSchedule:
    def test_local_time_in_a_zone_becomes_utc(self) -> None:
        assert to_utc("2026-12-01T09:00", "Europe/Berlin", NOW) == datetime(
            2026, 12, 1, 8, 0, tzinfo=UTC)

    def test_summer_time_is_applied(self) -> None:
        assert to_utc("2027-07-01T09:00", "America/Sao_Paulo", NOW).hour == 12
        assert to_utc("2027-07-01T09:00", "Europe/Berlin", NOW).hour == 7

    def test_a_skipped_local_time_is_refused(self) -> None:
        with pytest.raises(ScheduleError, match="does not exist"):
            to_utc("2027-03-28T02:30", "Europe/Berlin", NOW)

    def test_a_repeated_local_time_means_the_first(self) -> None:
        assert to_utc("2027-10-31T02:30", "Europe/Berlin", NOW) == datetime(
            2027, 10, 31, 0, 30, tzinfo=UTC)

    @pytest.mark.parametrize(("at", "zone"), [("2026-11-28T12:00", "UTC"),
                                              ("2026-12-01T09:00", "Mars/Base"),
                                              ("tomorrow", "UTC"),
                                              ("2026-12-01T09:00+01:00", "UTC")])
    def test_refuses_past_unknown_or_malformed(self, at: str, zone: str) -> None:
        with pytest.raises(ScheduleError):
            to_utc(at, zone, NOW)


class TestStates:
    def test_pause_and_resume(self) -> None:
        assert next_state("pause", "running") == "paused"
        assert next_state("resume", "paused", started=True) == "running"
        assert next_state("resume", "paused", has_schedule=True) == "scheduled"

    def test_repeating_an_action_changes_nothing(self) -> None:
        assert next_state("pause", "paused") is None
        assert next_state("cancel", "cancelled") is None

    @pytest.mark.parametrize(("action", "state"), [("start", "completed"), ("pause", "draft"),
                                                   ("resume", "stopped"),
                                                   ("schedule", "running")])
    def test_refused_transitions(self, action: str, state: str) -> None:
        with pytest.raises(StateConflict):
            next_state(action, state)
