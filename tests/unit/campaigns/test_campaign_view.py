"""The Campaign object's audience: its kept errors in one campaign, not in the list."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.inbox_api.campaigns.views import audience_view, campaign_summary, campaign_view

AT = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
ERROR = {"upload": 1, "row": 4, "column": "phone", "code": "invalid_phone",
         "message": "'not a number' is not a phone number."}


def campaign(audience: dict[str, Any] | None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": "c1", "name": "December", "business_phone_number_id": "1001",
        "template": {"name": "order_update", "language": "en_US", "category": "UTILITY"},
        "state": "draft", "counters": {}, "created_at": AT, "updated_at": AT}
    if audience is not None:
        doc["audience"] = audience
    return doc


def test_one_campaign_lists_its_kept_errors_and_their_total() -> None:
    doc = campaign({"rows": 5, "rejected_rows": 1, "duplicates": 0, "uploads": 1,
                    "errors": [ERROR], "errors_total": 1})
    assert campaign_view(doc)["audience"] == {
        "rows": 5, "rejected_rows": 1, "duplicates": 0, "uploads": 1, "errors_total": 1,
        "errors": [ERROR]}


def test_the_list_and_the_report_leave_the_errors_out_but_keep_the_total() -> None:
    doc = campaign({"rows": 5, "rejected_rows": 1, "duplicates": 0, "uploads": 1,
                    "errors": [ERROR], "errors_total": 1})
    audience = campaign_summary(doc)["audience"]
    assert "errors" not in audience
    assert audience["errors_total"] == 1


def test_a_campaign_stored_before_errors_were_kept_reads_as_none() -> None:
    old = {"rows": 3, "rejected_rows": 0, "duplicates": 0}
    assert audience_view(old) == {"rows": 3, "rejected_rows": 0, "duplicates": 0,
                                  "uploads": 0, "errors_total": 0, "errors": []}
    assert campaign_view(campaign(None))["audience"]["errors"] == []
