"""What a sync writes for one template of Meta's listing. Pure.

A template's document gets two single-document writes (FerretDB has no transactions):
- its definition (components, ids, parameter format), always: Meta's listing is the source;
- its status, reason and category, only over a status set before the listing was requested
  (``status_at < snapshot``), and its quality likewise (``quality_at``). A webhook at or after the
  snapshot wins; a sync never brings back an older status. docs/templates.md, Decisions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.templates import template_doc_id


@dataclass(frozen=True, slots=True)
class SyncWrite:
    doc_id: str
    definition: dict[str, Any]  # $set, unconditional (upsert)
    status: dict[str, Any]  # $set when status_at < snapshot (or absent)
    quality: dict[str, Any] | None  # $set when quality_at < snapshot (or absent)


def snapshot_time(now: datetime) -> datetime:
    """The listing's time, floored to the second like Meta's webhook times."""
    return now.astimezone(UTC).replace(microsecond=0)


def sync_write(tenant_id: str, waba_id: str, template: Mapping[str, Any],
               snapshot: datetime) -> SyncWrite | None:
    """The writes for one listed template (None when the listing lacks a name or language)."""
    name, language = template.get("name"), template.get("language")
    if not isinstance(name, str) or not isinstance(language, str) or not name or not language:
        return None
    components = template.get("components")
    fmt = str(template.get("parameter_format") or "POSITIONAL").lower()
    definition: dict[str, Any] = {
        "tenant_id": tenant_id, "waba_id": waba_id, "name": name, "language": language,
        "template_id": str(template.get("id") or "") or None,
        "components": components if isinstance(components, list) else [],
        "parameter_format": "named" if fmt == "named" else "positional",
        "synced_at": snapshot,
        # Orders the components against Meta's components webhook (conversation_store).
        "components_at": snapshot,
    }
    reason = template.get("rejected_reason")
    status: dict[str, Any] = {
        "status": str(template.get("status") or "UNKNOWN").upper(),
        "reason": None if reason in (None, "NONE") else str(reason),
        "last_event": "SYNC", "status_at": snapshot,
    }
    if template.get("category"):
        status["category"] = str(template["category"]).upper()
    quality = None
    score = template.get("quality_score")
    if isinstance(score, Mapping) and score.get("score"):
        quality = {"quality": str(score["score"]).upper(), "quality_at": snapshot}
    return SyncWrite(template_doc_id(waba_id, name, language), definition, status, quality)


def deleted_status(snapshot: datetime) -> dict[str, Any]:
    """The status of a template the listing no longer has."""
    return {"status": "DELETED", "last_event": "SYNC", "status_at": snapshot}
