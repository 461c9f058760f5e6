"""Meta's template webhooks (status, quality, category) folded into the ``templates`` collection.

outbound_sender reads a template's status there before sending it (only APPROVED goes out);
docs/templates-collection.md describes the document. The fold is separate from the thread fold:
template events carry no conversation. It is idempotent and order-tolerant: a status applies only
if its event is at least as new as the one that set the current status (``status_at``), so a
replay or a late, older webhook never moves a status back; quality (``quality_at``) and category
(``category_at``) likewise. The write itself carries the condition, so inbox_api's template sync
(which writes the same fields under the same rule) can interleave with it safely.

This module is the pure part: which event wins and what it writes. adapters/mongo_templates.py
reads and writes the collection (step 2 of pipeline.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from shared.events import TemplateCategoryChanged, TemplateQualityChanged, TemplateStatusChanged
from shared.events.base import Event
from shared.templates import template_doc_id

# Webhook events that leave the template sendable (Meta's status stays APPROVED through them).
STILL_APPROVED = frozenset({"REINSTATED", "UNARCHIVED", "FLAGGED"})


def effective_status(event: str) -> str:
    """The template's status after a webhook ``event`` (APPROVED, PAUSED, ...)."""
    event = event.upper()
    return "APPROVED" if event in STILL_APPROVED else event


def latest_per_template(
    events: Iterable[TemplateStatusChanged],
) -> dict[str, TemplateStatusChanged]:
    """The newest event of each template (by event time; the later one on a tie)."""
    latest: dict[str, TemplateStatusChanged] = {}
    for event in events:
        p = event.payload
        doc_id = template_doc_id(p.waba_id, p.name, p.language)
        current = latest.get(doc_id)
        if current is None or event.occurred_at >= current.occurred_at:
            latest[doc_id] = event
    return latest


def supersedes(event: TemplateStatusChanged, stored_status_at: datetime | None) -> bool:
    return stored_status_at is None or event.occurred_at >= stored_status_at


def status_update(event: TemplateStatusChanged) -> dict[str, Any]:
    """The ``$set`` / ``$setOnInsert`` of one status event."""
    p = event.payload
    fields: dict[str, Any] = {
        "tenant_id": event.tenant_id,
        "waba_id": p.waba_id,
        "template_id": p.template_id,
        "name": p.name,
        "language": p.language,
        "status": effective_status(p.event),
        "last_event": p.event.upper(),
        "reason": p.reason,
        "status_at": event.occurred_at,
    }
    if p.category:
        fields["category"] = p.category.upper()
    return {"$set": fields, "$setOnInsert": {"components": [], "created_at": event.occurred_at}}


def quality_update(event: TemplateQualityChanged) -> dict[str, Any]:
    p = event.payload
    return {"$set": {"quality": p.new_score.upper(), "quality_at": event.occurred_at,
                     "tenant_id": event.tenant_id, "waba_id": p.waba_id,
                     "template_id": p.template_id, "name": p.name, "language": p.language},
            "$setOnInsert": {"components": [], "created_at": event.occurred_at}}


def category_update(event: TemplateCategoryChanged) -> dict[str, Any]:
    p = event.payload
    return {"$set": {"category": p.new_category.upper(), "category_at": event.occurred_at,
                     "tenant_id": event.tenant_id, "waba_id": p.waba_id,
                     "template_id": p.template_id, "name": p.name, "language": p.language},
            "$setOnInsert": {"components": [], "created_at": event.occurred_at}}


TemplateEvent = TemplateStatusChanged | TemplateQualityChanged | TemplateCategoryChanged
# Which time field orders each kind of event, and how it writes.
KINDS: dict[type, tuple[str, Callable[[Any], dict[str, Any]]]] = {
    TemplateStatusChanged: ("status_at", status_update),
    TemplateQualityChanged: ("quality_at", quality_update),
    TemplateCategoryChanged: ("category_at", category_update),
}


def latest_of_each(events: Iterable[Event]) -> dict[tuple[type, str], TemplateEvent]:
    """The newest event of each kind per template (the later one on a tie)."""
    latest: dict[tuple[type, str], TemplateEvent] = {}
    for event in events:
        if not isinstance(event, TemplateStatusChanged | TemplateQualityChanged
                          | TemplateCategoryChanged):
            continue
        p = event.payload
        key = (type(event), template_doc_id(p.waba_id, p.name, p.language))
        current = latest.get(key)
        if current is None or event.occurred_at >= current.occurred_at:
            latest[key] = event
    return latest
