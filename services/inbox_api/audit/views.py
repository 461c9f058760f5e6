"""Stored audit entries -> the API's shape and CSV rows."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from datetime import UTC
from typing import Any

from services.inbox_api.audit.schemas import AuditEntryOut

CSV_COLUMNS = ("at", "agent_id", "agent_name", "action", "method", "route", "target", "summary",
               "status", "id")


def entry_view(doc: Mapping[str, Any]) -> AuditEntryOut:
    at = doc["at"]
    return AuditEntryOut(id=str(doc["_id"]), at=at if at.tzinfo else at.replace(tzinfo=UTC),
                         agent_id=doc.get("agent_id"), agent_name=doc.get("agent_name"),
                         action=str(doc.get("action") or ""), method=str(doc.get("method") or ""),
                         route=str(doc.get("route") or ""),
                         target={str(k): str(v) for k, v in (doc.get("target") or {}).items()},
                         summary=dict(doc.get("summary") or {}),
                         status=int(doc.get("status") or 0))


def _cell(value: str) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet: quoted as text.
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def csv_text(entries: Iterable[AuditEntryOut], header: bool) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    if header:
        writer.writerow(CSV_COLUMNS)
    for e in entries:
        writer.writerow([e.at.isoformat(), e.agent_id or "", _cell(e.agent_name or ""),
                         e.action, e.method, e.route,
                         _cell(json.dumps(e.target, ensure_ascii=False, sort_keys=True)),
                         _cell(json.dumps(e.summary, ensure_ascii=False, sort_keys=True)),
                         e.status, e.id])
    return out.getvalue()
