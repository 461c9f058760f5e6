"""Meta's template webhooks (status, quality, category, components) folded into ``templates``.

outbound_sender reads a template's status there before sending it (only APPROVED goes out);
docs/templates-collection.md describes the document. The fold is separate from the thread fold:
template events carry no conversation. It is idempotent and order-tolerant: a status applies only
if its event is at least as new as the one that set the current status (``status_at``), so a
replay or a late, older webhook never moves a status back; quality (``quality_at``), category
(``category_at``) and components (``components_at``) likewise. The write itself carries the
condition, so inbox_api's template sync (which writes the same fields under the same rule) can
interleave with it safely.

This module is the pure part: which event wins and what it writes. adapters/mongo_templates.py
reads and writes the collection (step 2 of pipeline.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from services.conversation_store.account_health import bson_safe
from shared.events import (
    TemplateCategoryChanged,
    TemplateComponents,
    TemplateComponentsChanged,
    TemplateQualityChanged,
    TemplateStatusChanged,
)
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
        # Meta's other fields of the event, verbatim (rejection_info {reason, recommendation},
        # other_info {title, description}, disable_info, ...): the templates page shows them
        # while the status they came with is current.
        "status_details": {**bson_safe(dict(p.extra)), "event": p.event.upper()},
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


_VARIABLE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


def _variables(text: object) -> list[str]:
    return _VARIABLE.findall(text) if isinstance(text, str) else []


def _with_example(new: dict[str, Any], old: Mapping[str, Any] | None) -> dict[str, Any]:
    """The stored example stays while the text has the same variables (a send's values and the
    previews read it); a changed text drops it."""
    if (old is not None and isinstance(old.get("example"), Mapping)
            and _variables(old.get("text")) == _variables(new.get("text"))):
        return {**new, "example": old["example"]}
    return new


def _button(raw: Mapping[str, Any], old: Mapping[str, Any] | None) -> dict[str, Any]:
    """Meta's ``message_template_buttons`` item as a component button."""
    button = {"type": str(raw.get("message_template_button_type") or raw.get("type") or "")
              .upper()}
    for key, meta in (("text", "message_template_button_text"),
                      ("url", "message_template_button_url"),
                      ("phone_number", "message_template_button_phone_number")):
        value = raw.get(meta, raw.get(key))
        if isinstance(value, str) and value:
            button[key] = value
    same = (old is not None and old.get("type") == button["type"]
            and old.get("url") == button.get("url"))
    if same and old is not None and old.get("example") is not None:
        button["example"] = old["example"]
    return button


def webhook_components(p: TemplateComponents, stored: object) -> list[dict[str, Any]]:
    """The template's components after Meta's ``message_template_components_update``.

    The webhook names the texts only: a media or location header is kept from what is stored
    (the webhook cannot say it changed), as is the body when the webhook omits it, and the
    examples of a text whose variables did not change."""
    old = {str(c.get("type") or "").upper(): c
           for c in (stored if isinstance(stored, list) else []) if isinstance(c, Mapping)}
    out: list[dict[str, Any]] = []
    old_header = old.get("HEADER")
    if p.header:
        out.append(_with_example({"type": "HEADER", "format": "TEXT", "text": p.header},
                                 old_header))
    elif old_header is not None and str(old_header.get("format") or "TEXT").upper() != "TEXT":
        out.append(dict(old_header))
    body = p.body if p.body is not None else (old.get("BODY") or {}).get("text")
    if isinstance(body, str):
        out.append(_with_example({"type": "BODY", "text": body}, old.get("BODY")))
    if p.footer:
        out.append({"type": "FOOTER", "text": p.footer})
    if p.buttons:
        before = (old.get("BUTTONS") or {}).get("buttons")
        before = [b for b in before if isinstance(b, Mapping)] if isinstance(before, list) else []
        out.append({"type": "BUTTONS", "buttons": [
            _button(b, before[i] if i < len(before) else None)
            for i, b in enumerate(p.buttons)]})
    return out


def components_update(event: TemplateComponentsChanged,
                      stored: Mapping[str, Any] | None) -> dict[str, Any]:
    p = event.payload
    components = webhook_components(p, (stored or {}).get("components"))
    return {"$set": {"components": bson_safe(components), "components_at": event.occurred_at,
                     "components_source": "webhook", "tenant_id": event.tenant_id,
                     "waba_id": p.waba_id, "template_id": p.template_id, "name": p.name,
                     "language": p.language},
            "$setOnInsert": {"created_at": event.occurred_at}}


TemplateEvent = (TemplateStatusChanged | TemplateQualityChanged | TemplateCategoryChanged
                 | TemplateComponentsChanged)
TEMPLATE_EVENTS = (TemplateStatusChanged, TemplateQualityChanged, TemplateCategoryChanged,
                   TemplateComponentsChanged)
# Which time field orders each kind of event, and how it writes (given the stored document:
# only the components read it).
Update = Callable[[Any, Mapping[str, Any] | None], dict[str, Any]]
KINDS: dict[type, tuple[str, Update]] = {
    TemplateStatusChanged: ("status_at", lambda event, _: status_update(event)),
    TemplateQualityChanged: ("quality_at", lambda event, _: quality_update(event)),
    TemplateCategoryChanged: ("category_at", lambda event, _: category_update(event)),
    TemplateComponentsChanged: ("components_at", components_update),
}


def latest_of_each(events: Iterable[Event]) -> dict[tuple[type, str], TemplateEvent]:
    """The newest event of each kind per template (the later one on a tie)."""
    latest: dict[tuple[type, str], TemplateEvent] = {}
    for event in events:
        if not isinstance(event, TEMPLATE_EVENTS):
            continue
        p = event.payload
        key = (type(event), template_doc_id(p.waba_id, p.name, p.language))
        current = latest.get(key)
        if current is None or event.occurred_at >= current.occurred_at:
            latest[key] = event
    return latest
