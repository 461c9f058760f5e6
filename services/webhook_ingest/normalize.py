"""A verified webhook payload -> the contract events of ``whatsapp.inbound.v1``. Pure: no I/O.

One event per message, per status, per echo, per call, per preference, per template or account
update, per value-level error list; anything this version cannot read becomes
:class:`WebhookChangeUnhandled` carrying the raw value, so a new Meta field or an unexpected shape
never loses data (the raw body is also kept on ``whatsapp.webhooks.raw.v1``, and ``replay``
re-derives the events after a parser fix). docs/webhook_kinds.md lists every field Meta documents
and what it becomes.

Failure isolation: an unusable item (a message without an id) is kept alone as unhandled and its
siblings still parse; an exception anywhere else in a change (a parser bug) turns that whole
change into one unhandled event and is reported in :attr:`Normalized.failures`.

Size: the envelope walk, the ``messages`` field (messages, statuses) and the template fields, read
best side by side with Meta's reference; the other fields have their own modules
(:data:`PARSERS`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from services.webhook_ingest.account import NOTICE_FIELDS, parse_notice
from services.webhook_ingest.calls import parse_calls
from services.webhook_ingest.change import (
    ITEM_ERRORS,
    Change,
    Normalized,
    Parser,
    TenantLookup,
    known_keys,
)
from services.webhook_ingest.customers import (
    parse_app_state_sync,
    parse_user_preferences,
    preferences,
)
from services.webhook_ingest.echoes import parse_echoes
from services.webhook_ingest.history import parse_history
from services.webhook_ingest.ids import named_id
from services.webhook_ingest.messages import parse_message
from services.webhook_ingest.payload import (
    Metadata,
    NoCustomerIdentity,
    Raw,
    customer_conversation_id,
    epoch,
    leftovers,
    meta_errors,
    optional_text,
    required_text,
)
from shared import callback_data
from shared.events.inbound import (
    MessageStatusChanged,
    PhoneNumberQuality,
    PhoneNumberQualityChanged,
    StatusUpdate,
    TemplateCategory,
    TemplateCategoryChanged,
    TemplateComponents,
    TemplateComponentsChanged,
    TemplateQuality,
    TemplateQualityChanged,
    TemplateStatus,
    TemplateStatusChanged,
)

__all__ = ["ITEM_ERRORS", "PARSERS", "Normalized", "TenantLookup", "normalize"]


def normalize(
    payload: Mapping[str, Any],
    tenants: TenantLookup,
    received_at: datetime,
    *,
    salt: str = "",
) -> Normalized:
    """Every event of a payload that passed :func:`payload.parse_webhook`."""
    out = Normalized()

    def change(waba: str, time: Any, name: str, value: Any) -> Change:
        return Change(out, tenants, received_at, salt, waba, time, name, value)

    for entry in payload.get("entry") or ():
        if not isinstance(entry, dict) or not isinstance(entry.get("changes", []), list):
            waba = str(entry.get("id", "")) if isinstance(entry, dict) else ""
            change(waba, None, "entry", entry).keep()
            continue
        waba = str(entry.get("id", ""))
        time = entry.get("time")
        if rest := leftovers(entry, _ENTRY_KEYS):
            change(waba, time, "entry", rest).keep()
        for item in entry.get("changes", []):
            if not isinstance(item, dict) or not isinstance(item.get("field"), str):
                change(waba, time, "change", item).keep()
                continue
            if rest := leftovers(item, _CHANGE_KEYS):
                change(waba, time, "change", rest).keep()
            change(waba, time, item["field"], item.get("value")).parse(PARSERS)
    return out


_ENTRY_KEYS = frozenset({"id", "time", "changes"})
_CHANGE_KEYS = frozenset({"field", "value"})
_STATUS_KEYS = frozenset({"id", "status", "timestamp", "recipient_id", "recipient_user_id",
                          "errors", "pricing", "conversation", "biz_opaque_callback_data"})


def _messages(ctx: Change, value: Raw) -> None:
    """``field: messages``: inbound messages (edits and deletions included), statuses of outbound
    ones, value-level errors, and marketing preferences if Meta puts them beside messages."""
    metadata = Metadata.of(value)
    tenant = ctx.tenant_for_number(metadata.phone_number_id)
    raw_meta = value["metadata"]
    contacts = value.get("contacts")
    contact_list = contacts if isinstance(contacts, list) else []
    known = known_keys(value, "messages", "statuses", "user_preferences")

    ctx.each(value, "messages",
             lambda item: parse_message(item, metadata, contact_list, tenant, ctx.salt),
             {"metadata": raw_meta, "contacts": contacts})
    ctx.each(value, "statuses",
             lambda item: _status(item, metadata, tenant, ctx.salt, contact_list),
             {"metadata": raw_meta})
    if "user_preferences" in known:  # a customer's marketing stop, beside their messages
        preferences(ctx, value, metadata, tenant)
    if "errors" in value:
        ctx.value_errors(value, metadata, tenant)
    rest = leftovers(value, known)
    if rest:
        ctx.unhandled({"metadata": raw_meta, **rest})


def _status(raw: Raw, metadata: Metadata, tenant: str, salt: str,
            contacts: Sequence[Any] = ()) -> MessageStatusChanged:
    wamid, status = (required_text(raw, k) for k in ("id", "status"))
    recipient, recipient_user_id = optional_text(raw, "recipient_id"), optional_text(
        raw, "recipient_user_id")
    if recipient is None and recipient_user_id is None:
        raise NoCustomerIdentity("status has neither 'recipient_id' nor 'recipient_user_id'")
    at = epoch(raw.get("timestamp"))
    extra = leftovers(raw, _STATUS_KEYS)
    contact = _recipient_contact(raw, contacts)
    username = None
    if contact is not None:
        extra["contact"] = contact
        profile = contact.get("profile")
        if isinstance(profile, dict) and isinstance(profile.get("username"), str):
            username = profile["username"] or None
    # StatusUpdate has no field for the display number: it rides in extra with unknown metadata.
    meta_rest = dict(metadata.extra)
    if metadata.display_phone_number is not None:
        meta_rest["display_phone_number"] = metadata.display_phone_number
    if meta_rest:
        extra["metadata"] = meta_rest
    errors, complete = meta_errors(raw.get("errors"))
    if not complete:
        extra["errors"] = raw.get("errors")
    objects: dict[str, Raw | None] = {}
    for key in ("pricing", "conversation"):
        obj = raw.get(key)
        if obj is None or isinstance(obj, dict):
            objects[key] = obj
        else:
            objects[key] = None
            extra[key] = obj
    echoed = raw.get("biz_opaque_callback_data")
    callback = None if echoed is None else str(echoed)
    sent_by = callback_data.decode(callback)  # our command id, when our sender wrote it
    return MessageStatusChanged(
        event_id=named_id("status", wamid, status, salt=salt),
        occurred_at=at,
        tenant_id=tenant,
        conversation_id=customer_conversation_id(metadata.phone_number_id, recipient,
                                                 recipient_user_id),
        payload=StatusUpdate(
            wamid=wamid,
            status=status,  # verbatim, including values Meta adds later
            at=at,
            business_phone_number_id=metadata.phone_number_id,
            recipient_wa_id=recipient,
            recipient_user_id=recipient_user_id,
            recipient_username=username,
            errors=errors,
            pricing=objects["pricing"],
            conversation=objects["conversation"],
            biz_opaque_callback_data=callback,
            command_id=sent_by.command_id,
            reference=sent_by.reference,
            extra=extra,
        ),
    )


def _recipient_contact(raw: Raw, contacts: Sequence[Any]) -> Raw | None:
    """The ``value.contacts[]`` element about this status's recipient (BSUID, else number)."""
    user_id, number = raw.get("recipient_user_id"), raw.get("recipient_id")
    for contact in contacts:
        if isinstance(contact, dict) and (
                (user_id and contact.get("user_id") == user_id)
                or (number and contact.get("wa_id") == number)):
            return contact
    return None


def _optional(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return None if value is None else str(value)


_TEMPLATE_KEYS = frozenset(
    {"message_template_id", "message_template_name", "message_template_language"}
)


def _template_identity(ctx: Change, value: Raw) -> dict[str, str]:
    return {
        "waba_id": ctx.waba_id,
        "template_id": required_text(value, "message_template_id"),
        "name": required_text(value, "message_template_name"),
        "language": required_text(value, "message_template_language"),
    }


def _template_status(ctx: Change, value: Raw) -> None:
    """``message_template_status_update``: APPROVED, REJECTED, PAUSED, ... (kept verbatim)."""
    known = _TEMPLATE_KEYS | {"event", "reason", "message_template_category"}
    payload = TemplateStatus(
        **_template_identity(ctx, value),
        event=required_text(value, "event"),
        reason=_optional(value, "reason"),
        category=_optional(value, "message_template_category"),
        extra=leftovers(value, known),
    )
    ctx.waba_event(TemplateStatusChanged, "template.status", payload)


def _template_quality(ctx: Change, value: Raw) -> None:
    """``message_template_quality_update``: GREEN, YELLOW, RED, UNKNOWN."""
    known = _TEMPLATE_KEYS | {"previous_quality_score", "new_quality_score"}
    payload = TemplateQuality(
        **_template_identity(ctx, value),
        previous_score=_optional(value, "previous_quality_score"),
        new_score=required_text(value, "new_quality_score"),
        extra=leftovers(value, known),
    )
    ctx.waba_event(TemplateQualityChanged, "template.quality", payload)


def _template_category(ctx: Change, value: Raw) -> None:
    """``template_category_update``: Meta moved a template to another category."""
    known = _TEMPLATE_KEYS | {"previous_category", "new_category"}
    payload = TemplateCategory(
        **_template_identity(ctx, value),
        previous_category=_optional(value, "previous_category"),
        new_category=required_text(value, "new_category"),
        extra=leftovers(value, known),
    )
    ctx.waba_event(TemplateCategoryChanged, "template.category", payload)


def _phone_number_quality(ctx: Change, value: Raw) -> None:
    """``phone_number_quality_update``: FLAGGED, UNFLAGGED, UPGRADE, THROUGHPUT_UPGRADE, ..."""
    payload = PhoneNumberQuality(
        waba_id=ctx.waba_id,
        display_phone_number=_optional(value, "display_phone_number"),
        event=required_text(value, "event"),
        current_limit=_optional(value, "current_limit"),
        extra=leftovers(value, {"display_phone_number", "event", "current_limit"}),
    )
    ctx.waba_event(PhoneNumberQualityChanged, "number.quality", payload)


def _template_components(ctx: Change, value: Raw) -> None:
    """``message_template_components_update``: a template's header, body, footer or buttons were
    edited (``message_template_title`` / ``_element`` / ``_footer`` / ``_buttons``)."""
    known = set(_TEMPLATE_KEYS | {"message_template_title", "message_template_element",
                                  "message_template_footer"})
    buttons = value.get("message_template_buttons")
    if isinstance(buttons, list) and all(isinstance(b, dict) for b in buttons):
        known.add("message_template_buttons")
    payload = TemplateComponents(
        **_template_identity(ctx, value),
        header=_optional(value, "message_template_title"),
        body=_optional(value, "message_template_element"),
        footer=_optional(value, "message_template_footer"),
        buttons=buttons if "message_template_buttons" in known else [],
        extra=leftovers(value, known),
    )
    ctx.waba_event(TemplateComponentsChanged, "template.components", payload)


PARSERS: dict[str, Parser] = {
    "messages": _messages,
    "message_template_status_update": _template_status,
    "message_template_quality_update": _template_quality,
    "template_category_update": _template_category,
    "message_template_components_update": _template_components,
    "phone_number_quality_update": _phone_number_quality,
    "smb_message_echoes": parse_echoes,
    "history": parse_history,
    "smb_app_state_sync": parse_app_state_sync,
    "user_preferences": parse_user_preferences,
    "calls": parse_calls,
    **{name: parse_notice for name in NOTICE_FIELDS},
}
