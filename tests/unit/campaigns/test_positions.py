"""Recipient ids by position, position ranges, and the messaging limit's hourly buckets."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from services.inbox_api.campaigns.audience import Row, drop_duplicates, validate
from shared.campaigns import (
    number_id,
    position_chunks,
    recipient_id,
    recipient_ids,
    release_hour,
    release_hour_id,
    window_hours,
)


class TestPositions:
    def test_ids_sort_as_positions(self) -> None:
        assert recipient_id("c1", 7) == "c1:0000007"
        ids = [recipient_id("c1", p) for p in (1, 9, 10, 99_999, 100_000, 1_234_567)]
        assert ids == sorted(ids)

    def test_a_range_is_a_list_of_ids(self) -> None:
        assert recipient_ids("c1", 3, 5) == ["c1:0000003", "c1:0000004", "c1:0000005"]
        assert recipient_ids("c1", 6, 5) == []

    def test_chunks_cover_the_range_once(self) -> None:
        assert position_chunks(1, 1200, 500) == [(1, 500), (501, 1000), (1001, 1200)]
        assert position_chunks(7, 7, 500) == [(7, 7)]
        assert position_chunks(1, 0, 500) == []

    def test_a_number_has_its_own_id_apart_from_positions(self) -> None:
        assert number_id("c1", "4915123456789") == "c1:n:4915123456789"
        assert number_id("c1", "4915123456789") not in recipient_ids("c1", 1, 10)


class TestDuplicatesFromEarlierUploads:
    def test_a_number_already_claimed_becomes_a_duplicate_row_in_row_order(self) -> None:
        audience = validate([Row(2, "+49 151 2345 6789", {}), Row(3, "12", {}),
                             Row(4, "+49 151 2345 6780", {})], "Hello")
        drop_duplicates(audience, {"4915123456789"})
        assert [r.wa_id for r in audience.recipients] == ["4915123456780"]
        assert audience.duplicates == 1
        assert [(e.row, e.code) for e in audience.errors] == [(2, "duplicate"),
                                                              (3, "invalid_phone")]
        assert audience.errors[0].message == (
            "4915123456789 is already in this campaign; row skipped.")

    def test_nothing_claimed_changes_nothing(self) -> None:
        audience = validate([Row(1, "+49 151 2345 6789", {})], "Hello")
        drop_duplicates(audience, set())
        assert len(audience.recipients) == 1
        assert audience.errors == []


class TestReleaseHours:
    NOW = datetime(2026, 11, 28, 10, 42, 5, tzinfo=UTC)

    def test_a_release_counts_in_its_hour(self) -> None:
        assert release_hour(self.NOW) == datetime(2026, 11, 28, 10, tzinfo=UTC)
        assert release_hour_id("p1", release_hour(self.NOW)) == "p1:2026112810"

    def test_the_window_is_the_25_hours_covering_the_last_24(self) -> None:
        hours = window_hours(self.NOW)
        assert len(hours) == 25
        assert hours[0] == datetime(2026, 11, 27, 10, tzinfo=UTC)  # holds now - 24 h
        assert hours[-1] == datetime(2026, 11, 28, 10, tzinfo=UTC)
        assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(hours))

    def test_conservative_by_at_most_one_hour(self) -> None:
        # A release 24 h 40 min ago still counts (its hour overlaps the window) ...
        assert release_hour(self.NOW - timedelta(hours=24, minutes=40)) in window_hours(self.NOW)
        # ... one 25 h 1 min ago never does.
        assert release_hour(self.NOW - timedelta(hours=25, minutes=1)) not in window_hours(
            self.NOW)
