"""A verified webhook payload -> the contract events of ``whatsapp.inbound.v1``. Pure: no I/O.

One event per message, per status, per template or number update, per value-level error list;
anything this version cannot read becomes :class:`WebhookChangeUnhandled` carrying the raw value,
so a new Meta field or an unexpected shape never loses data (the raw body is also kept on
``whatsapp.webhooks.raw.v1``, and ``replay`` re-derives the events after a parser fix).

Failure isolation: an unusable item (a message without an id) is kept alone as unhandled and its
siblings still parse; an exception anywhere else in a change (a parser bug) turns that whole
change into one unhandled event and is reported in :attr:`Normalized.failures`.

Size: one pure mapping of Meta's payload shapes to events; the per-field readers share the
change context (:class:`_Change`) and read best side by side with Meta's reference.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from services.webhook_ingest.ids import content_id, named_id
from services.webhook_ingest.messages import NoCustomerIdentity, parse_message
from services.webhook_ingest.payload import (
    Metadata,
    Raw,
    customer_conversation,
    epoch,
    leftovers,
    meta_errors,
)
from shared import callback_data
from shared.channels import UNASSIGNED_TENANT
from shared.contacts import derived_conversation_id
from shared.events.base import Contract, Event
from shared.events.inbound import (
    MessageStatusChanged,
    PhoneNumberQuality,
    PhoneNumberQualityChanged,
    StatusUpdate,
    TemplateCategory,
    TemplateCategoryChanged,
    TemplateQuality,
    TemplateQualityChanged,
    TemplateStatus,
    TemplateStatusChanged,
    WebhookChange,
    WebhookChangeUnhandled,
    WebhookErrors,
    WebhookErrorsReported,
)

# Errors that mean "this item is not in a shape we can read" (pydantic's ValidationError is a
# ValueError): the item is kept as unhandled, not treated as a bug.
ITEM_ERRORS = (KeyError, ValueError, TypeError)


class TenantLookup(Protocol):
    """Which tenant owns a business number or a WhatsApp Business Account."""

    def tenant_for_number(self, phone_number_id: str) -> str: ...

    def tenant_for_waba(self, waba_id: str) -> str: ...


@dataclass(slots=True)
class Normalized:
    """The events of one payload, plus what the service reports about them."""

    events: list[Event] = field(default_factory=list)
    # Fields whose change raised an unexpected error (kept whole as webhook.unhandled).
    failures: list[str] = field(default_factory=list)
    # Lookups that found no tenant, as ("number" | "waba", id).
    unassigned: set[tuple[str, str]] = field(default_factory=set)
    # Messages and statuses naming the customer by neither number nor BSUID (kept as unhandled).
    anonymous: int = 0


def normalize(
    payload: Mapping[str, Any],
    tenants: TenantLookup,
    received_at: datetime,
    *,
    salt: str = "",
) -> Normalized:
    """Every event of a payload that passed :func:`payload.parse_webhook`."""
    out = Normalized()

    def change(waba: str, time: Any, name: str, value: Any) -> _Change:
        return _Change(out, tenants, received_at, salt, waba, time, name, value)

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
            change(waba, time, item["field"], item.get("value")).parse()
    return out


@dataclass(slots=True)
class _Change:
    """One ``entry[].changes[]`` item being parsed, and where its events go."""

    out: Normalized
    tenants: TenantLookup
    received_at: datetime
    salt: str
    waba_id: str
    time: Any
    field_name: str
    value: Any
    events: list[Event] = field(default_factory=list)

    def occurred_at(self) -> datetime:
        try:
            return epoch(self.time)
        except ValueError:
            return self.received_at

    def tenant_for_number(self, phone_number_id: str) -> str:
        tenant = self.tenants.tenant_for_number(phone_number_id)
        if tenant == UNASSIGNED_TENANT:
            self.out.unassigned.add(("number", phone_number_id))
        return tenant

    def tenant_for_waba(self) -> str:
        tenant = self.tenants.tenant_for_waba(self.waba_id)
        if tenant == UNASSIGNED_TENANT:
            self.out.unassigned.add(("waba", self.waba_id))
        return tenant

    def waba_event(self, cls: Callable[..., Event], kind: str, payload: Contract) -> None:
        """Emit an account-level event (no conversation), identified by the change's content."""
        self.events.append(
            cls(
                event_id=content_id(kind, self.waba_id, str(self.time), value=self.value,
                                    salt=self.salt),
                occurred_at=self.occurred_at(),
                tenant_id=self.tenant_for_waba(),
                payload=payload,
            )
        )

    def parse(self) -> None:
        """Emit this change's events; what cannot be parsed is kept as webhook.unhandled."""
        parser = PARSERS.get(self.field_name)
        if parser is None or not isinstance(self.value, dict):
            self.unhandled()
        else:
            try:
                parser(self, self.value)
            except Exception as exc:
                # A bug or a shape we never imagined: keep the whole change, nothing half-parsed.
                self.events.clear()
                self.out.failures.append(self.field_name)
                self.unhandled(error=f"{type(exc).__name__}: {exc}")
        self.out.events.extend(self.events)

    def keep(self) -> None:
        """Emit this (odd) part of the payload whole, as webhook.unhandled."""
        self.unhandled()
        self.out.events.extend(self.events)

    def unhandled(self, value: Any = None, error: str | None = None) -> None:
        """Keep ``value`` (default: the whole change value) as a webhook.unhandled event."""
        kept = self.value if value is None else value
        if error is not None:
            kept = {"parse_error": error[:500], "value": kept}
        number = _metadata_number(self.value)
        tenant = self.tenant_for_number(number) if number else self.tenant_for_waba()
        self.events.append(
            WebhookChangeUnhandled(
                event_id=content_id(
                    "webhook.unhandled", self.waba_id, str(self.time), self.field_name,
                    value=kept, salt=self.salt,
                ),
                occurred_at=self.occurred_at(),
                tenant_id=tenant,
                payload=WebhookChange(waba_id=self.waba_id, field=self.field_name, value=kept),
            )
        )


def _metadata_number(value: Any) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("metadata"), dict):
        number = value["metadata"].get("phone_number_id")
        return str(number) if number not in (None, "") else None
    return None


_ENTRY_KEYS = frozenset({"id", "time", "changes"})
_CHANGE_KEYS = frozenset({"field", "value"})
_STATUS_KEYS = frozenset({"id", "status", "timestamp", "recipient_id", "recipient_user_id",
                          "errors", "pricing", "conversation", "biz_opaque_callback_data"})


def _messages(ctx: _Change, value: Raw) -> None:
    """``field: messages``: inbound messages, statuses of outbound ones, value-level errors."""
    metadata = Metadata.of(value)
    tenant = ctx.tenant_for_number(metadata.phone_number_id)
    raw_meta = value["metadata"]
    messages, statuses = value.get("messages"), value.get("statuses")
    contacts = value.get("contacts")
    contact_list = contacts if isinstance(contacts, list) else []
    known = {"metadata", "errors"}  # a set: leftovers() takes it as is
    if value.get("messaging_product") == "whatsapp":
        known.add("messaging_product")
    if isinstance(messages, list):
        known.add("messages")
        if isinstance(contacts, list):
            known.add("contacts")  # read into each message's customer profile
    if isinstance(statuses, list):
        known.add("statuses")
        if isinstance(contacts, list):
            known.add("contacts")  # the recipients: each status keeps its own in extra

    events = ctx.events
    for item in messages if isinstance(messages, list) else ():
        try:
            if not isinstance(item, dict):
                raise TypeError("message is not an object")
            events.append(parse_message(item, metadata, contact_list, tenant, ctx.salt))
        except ITEM_ERRORS as exc:
            if isinstance(exc, NoCustomerIdentity):
                ctx.out.anonymous += 1
            ctx.unhandled({"metadata": raw_meta, "contacts": contacts, "messages": [item]},
                          error=f"{type(exc).__name__}: {exc}")
    for item in statuses if isinstance(statuses, list) else ():
        try:
            if not isinstance(item, dict):
                raise TypeError("status is not an object")
            events.append(_status(item, metadata, tenant, ctx.salt, contact_list))
        except ITEM_ERRORS as exc:
            if isinstance(exc, NoCustomerIdentity):
                ctx.out.anonymous += 1
            ctx.unhandled({"metadata": raw_meta, "statuses": [item]},
                          error=f"{type(exc).__name__}: {exc}")
    if "errors" in value:
        errors, complete = meta_errors(value["errors"])
        if errors:
            events.append(
                WebhookErrorsReported(
                    event_id=content_id("webhook.errors", ctx.waba_id, ctx.field_name,
                                        value={"metadata": raw_meta, "errors": value["errors"]},
                                        salt=ctx.salt),
                    occurred_at=ctx.occurred_at(),
                    tenant_id=tenant,
                    payload=WebhookErrors(waba_id=ctx.waba_id, field=ctx.field_name,
                                          business_phone_number_id=metadata.phone_number_id,
                                          errors=errors),
                )
            )
        if not complete or not errors:
            ctx.unhandled({"metadata": raw_meta, "errors": value["errors"]})
    rest = leftovers(value, known)
    if rest:
        ctx.unhandled({"metadata": raw_meta, **rest})


def _status(raw: Raw, metadata: Metadata, tenant: str, salt: str,
            contacts: Sequence[Any] = ()) -> MessageStatusChanged:
    wamid, status = (_required(raw, k) for k in ("id", "status"))
    recipient, recipient_user_id = _identifier(raw, "recipient_id"), _identifier(
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
        conversation_id=(customer_conversation(metadata.phone_number_id, recipient)
                         if recipient is not None
                         else derived_conversation_id(metadata.phone_number_id, None,
                                                      recipient_user_id)),
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


def _required(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    if value is None or value == "" or isinstance(value, dict | list):
        raise ValueError(f"no usable {key!r}")
    return str(value)


def _identifier(raw: Mapping[str, Any], key: str) -> str | None:
    """A customer identifier that may be absent (Meta hides the number); unusable -> error."""
    value = raw.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, dict | list):
        raise ValueError(f"no usable {key!r}")
    return str(value)


def _optional(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return None if value is None else str(value)


_TEMPLATE_KEYS = frozenset(
    {"message_template_id", "message_template_name", "message_template_language"}
)


def _template_identity(ctx: _Change, value: Raw) -> dict[str, str]:
    return {
        "waba_id": ctx.waba_id,
        "template_id": _required(value, "message_template_id"),
        "name": _required(value, "message_template_name"),
        "language": _required(value, "message_template_language"),
    }


def _template_status(ctx: _Change, value: Raw) -> None:
    """``message_template_status_update``: APPROVED, REJECTED, PAUSED, ... (kept verbatim)."""
    known = _TEMPLATE_KEYS | {"event", "reason", "message_template_category"}
    payload = TemplateStatus(
        **_template_identity(ctx, value),
        event=_required(value, "event"),
        reason=_optional(value, "reason"),
        category=_optional(value, "message_template_category"),
        extra=leftovers(value, known),
    )
    ctx.waba_event(TemplateStatusChanged, "template.status", payload)


def _template_quality(ctx: _Change, value: Raw) -> None:
    """``message_template_quality_update``: GREEN, YELLOW, RED, UNKNOWN."""
    known = _TEMPLATE_KEYS | {"previous_quality_score", "new_quality_score"}
    payload = TemplateQuality(
        **_template_identity(ctx, value),
        previous_score=_optional(value, "previous_quality_score"),
        new_score=_required(value, "new_quality_score"),
        extra=leftovers(value, known),
    )
    ctx.waba_event(TemplateQualityChanged, "template.quality", payload)


def _template_category(ctx: _Change, value: Raw) -> None:
    """``template_category_update``: Meta moved a template to another category."""
    known = _TEMPLATE_KEYS | {"previous_category", "new_category"}
    payload = TemplateCategory(
        **_template_identity(ctx, value),
        previous_category=_optional(value, "previous_category"),
        new_category=_required(value, "new_category"),
        extra=leftovers(value, known),
    )
    ctx.waba_event(TemplateCategoryChanged, "template.category", payload)


def _phone_number_quality(ctx: _Change, value: Raw) -> None:
    """``phone_number_quality_update``: FLAGGED, UNFLAGGED, UPGRADE, THROUGHPUT_UPGRADE, ..."""
    payload = PhoneNumberQuality(
        waba_id=ctx.waba_id,
        display_phone_number=_optional(value, "display_phone_number"),
        event=_required(value, "event"),
        current_limit=_optional(value, "current_limit"),
        extra=leftovers(value, {"display_phone_number", "event", "current_limit"}),
    )
    ctx.waba_event(PhoneNumberQualityChanged, "number.quality", payload)


PARSERS: dict[str, Callable[[_Change, Raw], None]] = {
    "messages": _messages,
    "message_template_status_update": _template_status,
    "message_template_quality_update": _template_quality,
    "template_category_update": _template_category,
    "phone_number_quality_update": _phone_number_quality,
}
