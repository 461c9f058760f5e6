"""Meta's template webhooks (status, quality, category) folded into the ``templates`` collection.

outbound_sender reads a template's status there before sending it (only APPROVED goes out);
docs/templates-collection.md describes the document. The fold is separate from the thread fold:
template events carry no conversation. It is idempotent and order-tolerant: a status applies only
if its event is at least as new as the one that set the current status (``status_at``), so a
replay or a late, older webhook never moves a status back; quality (``quality_at``) and category
(``category_at``) likewise. The write itself carries the condition, so inbox_api's template sync
(which writes the same fields under the same rule) can interleave with it safely.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from shared.events import TemplateCategoryChanged, TemplateQualityChanged, TemplateStatusChanged
from shared.events.base import Event
from shared.kafka import Received
from shared.mongo import Document, ensure_indexes
from shared.templates import TEMPLATES_COLLECTION, template_doc_id

# Webhook events that leave the template sendable (Meta's status stays APPROVED through them).
STILL_APPROVED = frozenset({"REINSTATED", "UNARCHIVED", "FLAGGED"})

INDEXES = [
    # The composer's "approved templates of this tenant" list.
    IndexModel([("tenant_id", ASCENDING), ("status", ASCENDING), ("name", ASCENDING)],
               name="tenant_status_name"),
]


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
_KINDS: dict[type, tuple[str, Callable[[Any], dict[str, Any]]]] = {
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


class TemplateStatusFold:
    """Applies a batch's template events (one read and one write per template and kind)."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        self.templates = db[TEMPLATES_COLLECTION]

    async def ensure_indexes(self) -> None:
        await ensure_indexes(self.db, {TEMPLATES_COLLECTION: INDEXES})

    async def __call__(self, batch: Sequence[Received[Event]]) -> None:
        for (kind, doc_id), event in latest_of_each(r.event for r in batch).items():
            at_field, update = _KINDS[kind]
            stored = await self.templates.find_one({"_id": doc_id}, {at_field: 1})
            if stored is None:
                await self.templates.update_one({"_id": doc_id}, update(event), upsert=True)
            elif not _older_or_equal(stored.get(at_field), event.occurred_at):
                continue
            else:
                # Conditional write: the sync may have stored a newer value since the read.
                await self.templates.update_one(
                    {"_id": doc_id, "$or": [{at_field: {"$lte": event.occurred_at}},
                                            {at_field: None}]}, update(event))


def _older_or_equal(stored_at: datetime | None, at: datetime) -> bool:
    if stored_at is None:
        return True
    if stored_at.tzinfo is None:  # BSON dates come back naive (UTC)
        stored_at = stored_at.replace(tzinfo=UTC)
    return stored_at <= at


def folding_templates(
    fold: TemplateStatusFold, handler: Callable[[list[Received[Event]]], Awaitable[None]]
) -> Callable[[list[Received[Event]]], Awaitable[None]]:
    """The store's batch handler, with the batch's template statuses folded first."""

    async def handle(batch: list[Received[Event]]) -> None:
        await fold(batch)
        await handler(batch)

    return handle
