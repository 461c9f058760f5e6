"""Stored campaigns, uploads and report rows -> the campaigns' JSON (docs/campaigns.md). Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.inbox_api.campaigns.audience import MAX_ERRORS, Audience
from services.inbox_api.campaigns.ports import Document
from services.inbox_api.campaigns.report import ReportRow, row_json


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def audience_view(stored: Document | None, errors: bool = True) -> dict[str, Any]:
    """The upload history; ``errors`` (up to 1,000 rows) only where one campaign is asked
    for, not in the list or the report that pages poll."""
    stored = stored or {}
    out: dict[str, Any] = {
        "rows": int(stored.get("rows") or 0),
        "rejected_rows": int(stored.get("rejected_rows") or 0),
        "duplicates": int(stored.get("duplicates") or 0),
        "uploads": int(stored.get("uploads") or 0),
        "errors_total": int(stored.get("errors_total") or 0)}
    if errors:
        out["errors"] = [{"upload": int(e.get("upload") or 1), "row": e.get("row"),
                          "column": e.get("column"), "code": e.get("code"),
                          "message": e.get("message")} for e in stored.get("errors") or []]
    return out


def campaign_summary(doc: Document) -> dict[str, Any]:
    """A campaign as the list and the report show it: without its audience errors."""
    return campaign_view(doc, errors=False)


def campaign_view(doc: Document, errors: bool = True) -> dict[str, Any]:
    schedule = doc.get("schedule")
    hold = doc.get("hold")
    return {
        "id": doc["_id"], "name": doc["name"],
        "business_phone_number_id": doc["business_phone_number_id"],
        "template": doc["template"], "state": doc["state"], "stop_reason": doc.get("stop_reason"),
        "hold": None if not hold else {"reason": hold.get("reason"),
                                       "until": _iso(hold.get("until"))},
        "schedule": None if not schedule else {"at": schedule["at"],
                                               "time_zone": schedule["time_zone"],
                                               "at_utc": _iso(schedule["at_utc"])},
        "counters": doc.get("counters", {}),
        "audience": audience_view(doc.get("audience"), errors),
        "created_by": doc.get("created_by"), "created_at": _iso(doc.get("created_at")),
        "updated_at": _iso(doc.get("updated_at")), "started_at": _iso(doc.get("started_at")),
        "paused_at": _iso(doc.get("paused_at")), "finished_at": _iso(doc.get("finished_at")),
        "version": doc.get("version", 1),
    }


def audience_json(audience: Audience | None, total: int) -> dict[str, Any] | None:
    """What one upload did: accepted, rejected (the first MAX_ERRORS rows' errors), duplicates."""
    if audience is None:
        return None
    errors = audience.errors[:MAX_ERRORS]
    return {"accepted": len(audience.recipients), "rejected": audience.rejected,
            "duplicates": audience.duplicates, "total_recipients": total,
            "errors": [{"row": e.row, "column": e.column, "code": e.code, "message": e.message}
                       for e in errors],
            "errors_truncated": len(audience.errors) > MAX_ERRORS,
            "ignored_columns": audience.ignored_columns}


def report_json(doc: Document, totals: dict[str, int], rates: dict[str, float],
                items: Sequence[ReportRow], next_cursor: str | None) -> dict[str, Any]:
    return {"campaign": campaign_summary(doc), "totals": totals, "rates": rates,
            "items": [row_json(r) for r in items], "next_cursor": next_cursor}
