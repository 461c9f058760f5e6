"""Meta's template status webhooks folded into the ``templates`` collection.

outbound_sender reads a template's status there before sending it (only APPROVED goes out);
docs/templates-collection.md describes the document. The fold is separate from the thread fold:
template events carry no conversation. It is idempotent and order-tolerant: a status applies only
if its event is at least as new as the one that set the current status, so a replay or a late,
older webhook never moves a status back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from shared.events import TemplateStatusChanged
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


class TemplateStatusFold:
    """Applies the template status events of a batch (one read and one write per template)."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        self.templates = db[TEMPLATES_COLLECTION]

    async def ensure_indexes(self) -> None:
        existing = {index["name"] async for index in await self.templates.list_indexes()}
        missing = [m for m in INDEXES if m.document["name"] not in existing]
        await ensure_indexes(self.db, {TEMPLATES_COLLECTION: missing})

    async def __call__(self, batch: Sequence[Received[Event]]) -> None:
        events = [r.event for r in batch if isinstance(r.event, TemplateStatusChanged)]
        for doc_id, event in latest_per_template(events).items():
            stored = await self.templates.find_one({"_id": doc_id}, {"status_at": 1})
            if supersedes(event, None if stored is None else stored.get("status_at")):
                await self.templates.update_one({"_id": doc_id}, status_update(event),
                                                upsert=True)


def folding_templates(
    fold: TemplateStatusFold, handler: Callable[[list[Received[Event]]], Awaitable[None]]
) -> Callable[[list[Received[Event]]], Awaitable[None]]:
    """The store's batch handler, with the batch's template statuses folded first."""

    async def handle(batch: list[Received[Event]]) -> None:
        await fold(batch)
        await handler(batch)

    return handle
