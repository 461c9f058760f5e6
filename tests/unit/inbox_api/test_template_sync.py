"""What the sync writes for a listed template, and what FerretDB can store."""

from __future__ import annotations

from datetime import UTC, datetime

from services.inbox_api.templates.repository import storable
from services.inbox_api.templates.sync import snapshot_time, sync_write

SNAPSHOT = datetime(2026, 11, 28, 12, 0, 5, tzinfo=UTC)


class TestSyncWrite:
    def test_definition_status_and_quality_of_a_listed_template(self) -> None:
        write = sync_write("acme", "waba-1", {
            "id": "123", "name": "promo", "language": "en_US", "status": "REJECTED",
            "category": "MARKETING", "rejected_reason": "PROMOTIONAL",
            "parameter_format": "NAMED", "quality_score": {"score": "GREEN"},
            "components": [{"type": "BODY", "text": "Hi {{name}}!"}]}, SNAPSHOT)
        assert write is not None
        assert write.doc_id == "waba-1:promo:en_US"
        assert write.definition["template_id"] == "123"
        assert write.definition["parameter_format"] == "named"
        assert write.status == {"status": "REJECTED", "reason": "PROMOTIONAL",
                                "category": "MARKETING", "last_event": "SYNC",
                                "status_at": SNAPSHOT}
        assert write.quality == {"quality": "GREEN", "quality_at": SNAPSHOT}

    def test_reason_none_is_no_reason(self) -> None:
        write = sync_write("acme", "w", {"name": "a", "language": "en", "status": "APPROVED",
                                         "rejected_reason": "NONE"}, SNAPSHOT)
        assert write is not None
        assert write.status["reason"] is None
        assert write.quality is None

    def test_a_listing_without_name_is_skipped(self) -> None:
        assert sync_write("acme", "w", {"language": "en"}, SNAPSHOT) is None

    def test_snapshot_is_floored_to_the_second_like_metas_times(self) -> None:
        assert snapshot_time(SNAPSHOT.replace(microsecond=999_999)) == SNAPSHOT


class TestStorable:
    def test_metas_nested_example_row_is_kept_flat(self) -> None:
        components = [{"type": "BODY", "text": "Hi {{1}}", "example": {"body_text": [["Ana"]]}}]
        assert storable(components) == [{"type": "BODY", "text": "Hi {{1}}",
                                          "example": {"body_text": ["Ana"]}}]
