"""A campaign's report: each recipient's fate from its message document, totals and rates. Pure.

A reply is attributed at report time (docs/campaigns.md "Replies"): the first customer message
in the conversation after the campaign message was accepted and within 24 h of it, unless a
later campaign message (another campaign's) came in between: that one opened the window then.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.campaigns import NOT_SENT, QUEUED, RELEASED, SKIPPED
from shared.cloud_errors import rule_for

REPLY_WINDOW = timedelta(hours=24)
STATUSES = ("queued", "skipped", "not_sent", "pending", "sent", "delivered", "read", "replied",
            "failed", "unknown")
_SHOWN = {"accepted": "sent", "sent": "sent", "delivered": "delivered", "read": "read",
          "played": "read", "failed": "failed", "refused": "failed", "unknown": "unknown"}
CSV_COLUMNS = ("row", "phone", "status", "reason", "sent_at", "delivered_at", "read_at",
               "replied_at", "error_code", "error_title", "error_meaning", "conversation_id")


@dataclass(frozen=True, slots=True)
class ReportRow:
    row: int
    phone: str
    status: str
    reason: str | None
    conversation_id: str
    message_id: str | None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    replied_at: datetime | None = None
    error: dict[str, Any] | None = None


@dataclass(slots=True)
class Totals:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("recipients", "queued", "skipped", "not_sent", "released", "pending", "sent",
         "delivered", "read", "replied", "failed", "unknown"), 0))

    def add(self, row: ReportRow) -> None:
        c = self.counts
        c["recipients"] += 1
        if row.status in ("queued", "skipped", "not_sent"):
            c[row.status] += 1
            return
        c["released"] += 1
        if row.status in ("pending", "failed", "unknown"):
            c[row.status] += 1
            return
        c["sent"] += 1  # sent, delivered, read and replied were all accepted by Meta
        if row.delivered_at is not None or row.status in ("delivered", "read"):
            c["delivered"] += 1
        if row.read_at is not None or row.status == "read":
            c["read"] += 1
        if row.status == "replied":
            c["replied"] += 1

    def rates(self) -> dict[str, float]:
        c = self.counts
        return {"delivered": _rate(c["delivered"], c["sent"]), "read": _rate(c["read"], c["sent"]),
                "replied": _rate(c["replied"], c["sent"]),
                "failed": _rate(c["failed"], c["released"])}


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def reply_at(accepted_at: datetime, inbound: Iterable[datetime],
             other_campaign_sends: Iterable[datetime] = ()) -> datetime | None:
    """The customer's reply to a campaign message accepted at ``accepted_at``, or None."""
    cut = min((t for t in other_campaign_sends if t > accepted_at), default=None)
    end = accepted_at + REPLY_WINDOW
    for at in sorted(inbound):
        if at <= accepted_at:
            continue
        if at > end or (cut is not None and at > cut):
            return None
        return at
    return None


def _first(statuses: Sequence[Mapping[str, Any]], names: Iterable[str]) -> datetime | None:
    wanted = set(names)
    times = [s["at"] for s in statuses if s.get("status") in wanted and s.get("at")]
    return min(times) if times else None


def row_of(recipient: Mapping[str, Any], message: Mapping[str, Any] | None,
           inbound: Sequence[datetime] = (), other_sends: Sequence[datetime] = ()) -> ReportRow:
    """One recipient's line: from its own state until released, then from its message."""
    # A row by BSUID has no number: its ``phone`` is the BSUID it was given.
    base = {"row": int(recipient.get("row", 0)),
            "phone": recipient.get("wa_id") or recipient.get("user_id") or "",
            "conversation_id": recipient.get("conversation_id", ""),
            "reason": recipient.get("reason")}
    state = recipient.get("state", QUEUED)
    if state in (QUEUED, SKIPPED, NOT_SENT):
        return ReportRow(status=state, message_id=None, **base)
    assert state == RELEASED
    if message is None:
        return ReportRow(status="pending", message_id=None, **base)
    statuses = message.get("statuses") or []
    shown = _SHOWN.get(str(message.get("status")), "pending")
    sent_at = _first(statuses, ("accepted", "sent")) or message.get("sent_at")
    delivered_at = _first(statuses, ("delivered", "read", "played"))
    read_at = _first(statuses, ("read", "played"))
    error = None
    if shown in ("failed", "unknown"):
        error = _error(message.get("error"))
        if message.get("status") == "refused" and error is not None:
            base["reason"] = error.get("reason") or base["reason"]
    replied = None
    if shown in ("sent", "delivered", "read") and sent_at is not None:
        replied = reply_at(sent_at, inbound, other_sends)
    return ReportRow(status="replied" if replied else shown, message_id=message.get("_id"),
                     sent_at=sent_at if shown != "failed" else None, delivered_at=delivered_at,
                     read_at=read_at, replied_at=replied, error=error, **base)


def _error(error: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not error:
        return None
    code = error.get("code")
    meaning = rule_for(int(code), 400).meaning if isinstance(code, int) else (
        error.get("message") or "")
    return {"code": code, "title": error.get("title"), "meaning": meaning,
            "reason": error.get("reason")}


def row_json(row: ReportRow) -> dict[str, Any]:
    error = None if row.error is None else {k: row.error.get(k)
                                            for k in ("code", "title", "meaning")}
    return {"row": row.row, "phone": row.phone, "status": row.status, "reason": row.reason,
            "conversation_id": row.conversation_id, "message_id": row.message_id,
            "sent_at": _iso(row.sent_at), "delivered_at": _iso(row.delivered_at),
            "read_at": _iso(row.read_at), "replied_at": _iso(row.replied_at), "error": error}


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def csv_lines(rows: Iterable[ReportRow], header: bool = True) -> Iterable[str]:
    """The CSV export, line by line (streamed)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header:
        writer.writerow(CSV_COLUMNS)
    for row in rows:
        error = row.error or {}
        writer.writerow([row.row, row.phone, row.status, row.reason or "", _iso(row.sent_at) or "",
                         _iso(row.delivered_at) or "", _iso(row.read_at) or "",
                         _iso(row.replied_at) or "", error.get("code", ""),
                         error.get("title") or "", error.get("meaning") or "",
                         row.conversation_id])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if header and buffer.getvalue():
        yield buffer.getvalue()
