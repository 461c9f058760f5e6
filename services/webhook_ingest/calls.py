"""``field: calls`` -> :class:`CallUpdated`, one per call event. Pure: no I/O.

WhatsApp voice calls between a customer and a business number (the Calling API):

- ``value.calls[]{id (wacid), from, to, event: "connect" | "terminate", direction:
  USER_INITIATED | BUSINESS_INITIATED, timestamp, session{sdp_type, sdp}?, status: COMPLETED |
  FAILED (terminate), start_time?, end_time?, duration?, biz_opaque_callback_data?}``, with
  ``value.contacts[]`` and, when a call failed, ``value.errors[]``;
- ``value.statuses[]{id (wacid), type: "call", status: RINGING | ACCEPTED | REJECTED, timestamp,
  recipient_id, recipient_user_id?}`` for a business-initiated call.

The customer is the caller of a user-initiated call and the callee of a business-initiated one.
A customer's answer to a call-permission request is not a call event: it arrives in ``messages``
as an ``interactive`` message of type ``call_permission_reply`` (a message shown in the thread).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.webhook_ingest.change import Change, known_keys
from services.webhook_ingest.ids import named_id
from services.webhook_ingest.messages import same_number
from services.webhook_ingest.payload import (
    Metadata,
    NoCustomerIdentity,
    Raw,
    customer_conversation_id,
    epoch,
    leftovers,
    optional_text,
    required_text,
)
from shared.events.customer import Call, CallUpdated

_CALL_KEYS = frozenset({"id", "event", "direction", "timestamp", "status", "start_time",
                        "end_time", "duration", "errors", "from", "to", "from_user_id",
                        "to_user_id"})
_STATUS_KEYS = frozenset({"id", "status", "timestamp", "recipient_id", "recipient_user_id",
                          "errors"})


def parse_calls(ctx: Change, value: Raw) -> None:
    """One :class:`CallUpdated` per ``calls[]`` and per ``statuses[]`` item."""
    metadata = Metadata.of(value)
    tenant = ctx.tenant_for_number(metadata.phone_number_id)
    raw_meta = value["metadata"]
    contacts = value.get("contacts")
    contact_list = contacts if isinstance(contacts, list) else []
    # Value-level errors beside call events are about those calls (a failed call): carried by
    # each; alone, they are reported like any value-level errors.
    value_errors = value.get("errors")
    has_items = any(isinstance(value.get(k), list) and value[k] for k in ("calls", "statuses"))
    shared_errors: list[Raw] = []
    attach = False
    if has_items and isinstance(value_errors, list) and all(
            isinstance(e, dict) for e in value_errors):
        shared_errors, attach = value_errors, True
    kept: Raw = {"metadata": raw_meta, "contacts": contacts}
    if attach:
        kept["errors"] = value_errors

    def call(item: Raw) -> CallUpdated:
        direction = optional_text(item, "direction")
        side = _customer_side(item, direction, metadata)
        wa_id, user_id = optional_text(item, side), optional_text(item, f"{side}_user_id")
        if wa_id is None and user_id is None:
            raise NoCustomerIdentity(f"call has neither {side!r} nor {side + '_user_id'!r}")
        business = "to" if side == "from" else "from"
        extra = leftovers(item, _CALL_KEYS)
        if business in item and not same_number(item[business], metadata.display_phone_number):
            extra[business] = item[business]
        if f"{business}_user_id" in item:
            extra[f"{business}_user_id"] = item[f"{business}_user_id"]
        return _event(ctx, metadata, tenant, contact_list, item, extra,
                      event=required_text(item, "event"), direction=direction,
                      wa_id=wa_id, user_id=user_id, errors=shared_errors)

    def status(item: Raw) -> CallUpdated:
        wa_id = optional_text(item, "recipient_id")
        user_id = optional_text(item, "recipient_user_id")
        if wa_id is None and user_id is None:
            raise NoCustomerIdentity("call status has neither 'recipient_id' nor "
                                     "'recipient_user_id'")
        extra = leftovers(item, _STATUS_KEYS | {"type"})
        if item.get("type") != "call":
            extra["type"] = item.get("type")
        # Meta sends call statuses (RINGING, ACCEPTED, REJECTED) only for the calls a business
        # places, so a call known only from its statuses is an outgoing one.
        return _event(ctx, metadata, tenant, contact_list, item, extra, event="status",
                      direction="BUSINESS_INITIATED", wa_id=wa_id, user_id=user_id,
                      errors=shared_errors)

    ctx.each(value, "calls", call, kept)
    ctx.each(value, "statuses", status, kept)
    if "errors" in value and not attach:
        ctx.value_errors(value, metadata, tenant)
    rest = leftovers(value, known_keys(value, "calls", "statuses"))
    if rest:
        ctx.unhandled({"metadata": raw_meta, **rest})


def _customer_side(item: Raw, direction: str | None, metadata: Metadata) -> str:
    """``"from"`` when the customer called, ``"to"`` when the business did."""
    if direction == "USER_INITIATED":
        return "from"
    if direction == "BUSINESS_INITIATED":
        return "to"
    return "to" if same_number(item.get("from"), metadata.display_phone_number) else "from"


def _event(ctx: Change, metadata: Metadata, tenant: str, contacts: Sequence[Any], item: Raw,
           extra: Raw, *, event: str, direction: str | None, wa_id: str | None,
           user_id: str | None, errors: list[Raw]) -> CallUpdated:
    call_id = required_text(item, "id")
    status = optional_text(item, "status")
    at = epoch(item.get("timestamp"))
    own_errors = item.get("errors")
    if own_errors is None:
        own_errors = []
    elif not isinstance(own_errors, list) or not all(isinstance(e, dict) for e in own_errors):
        extra["errors"] = own_errors
        own_errors = []
    duration = _seconds(item.get("duration"))
    if duration is None and item.get("duration") is not None:
        extra["duration"] = item["duration"]
    contact = _contact(wa_id, user_id, contacts)
    if contact is not None:
        extra["contact"] = contact
    if kept_meta := metadata.kept():
        extra["metadata"] = kept_meta
    pnid = metadata.phone_number_id
    return CallUpdated(
        event_id=named_id("call", call_id, event, status or "", salt=ctx.salt),
        occurred_at=at,
        tenant_id=tenant,
        conversation_id=customer_conversation_id(pnid, wa_id, user_id),
        payload=Call(
            call_id=call_id,
            business_phone_number_id=pnid,
            wa_id=wa_id,
            user_id=user_id,
            direction=direction,
            event=event,
            status=status,
            at=at,
            started_at=_time(item, "start_time"),
            ended_at=_time(item, "end_time"),
            duration_seconds=duration,
            errors=[*own_errors, *errors],
            extra=extra,
        ),
    )


def _time(item: Raw, key: str) -> datetime | None:
    value = item.get(key)
    return None if value is None else epoch(value)


def _seconds(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _contact(wa_id: str | None, user_id: str | None, contacts: Sequence[Any]) -> Raw | None:
    """The ``contacts[]`` element about this call's customer (BSUID, else number; a lone one)."""
    candidates = [c for c in contacts if isinstance(c, dict)]
    for contact in candidates:
        if (user_id and contact.get("user_id") == user_id) or (
                wa_id and str(contact.get("wa_id")) == wa_id):
            return contact
    return candidates[0] if len(candidates) == 1 else None
