"""Customer-scoped fields that are not messages -> their events. Pure: no I/O.

- ``user_preferences``: ``value.user_preferences[]{wa_id, user_id?, category:
  "marketing_messages", value: "stop" | "resume", detail, timestamp}`` beside ``contacts[]``: the
  customer stopped or resumed marketing messages in WhatsApp's settings, an opt-out the product
  honours like a STOP keyword -> :class:`MarketingPreferenceChanged` (value lower-cased).
- ``smb_app_state_sync``: ``value.state_sync[]{type: "contact", contact{full_name, first_name,
  phone_number}, action: "add" | "remove", metadata{timestamp}}``: the WhatsApp Business app's
  address book on a coexistence number (the first sync after onboarding, then every add, edit
  and removal) -> :class:`AppContactSynced`. Another ``type`` is kept as webhook.unhandled.

Each event carries its customer's derived conversation id; the service replaces it with the
contact directory's answer, as for messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.webhook_ingest.change import Change, known_keys
from services.webhook_ingest.ids import content_id, named_id
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
from shared.events.customer import (
    AppContact,
    AppContactSynced,
    MarketingPreference,
    MarketingPreferenceChanged,
)

_PREFERENCE_KEYS = frozenset({"wa_id", "user_id", "category", "value", "detail", "timestamp"})
_STATE_KEYS = frozenset({"type", "contact", "action", "metadata"})
_APP_CONTACT_KEYS = frozenset({"full_name", "first_name", "phone_number"})


def parse_user_preferences(ctx: Change, value: Raw) -> None:
    """One :class:`MarketingPreferenceChanged` per ``user_preferences[]`` item."""
    metadata = Metadata.of(value)
    tenant = ctx.tenant_for_number(metadata.phone_number_id)
    raw_meta = value["metadata"]
    preferences(ctx, value, metadata, tenant)
    if "errors" in value:
        ctx.value_errors(value, metadata, tenant)
    rest = leftovers(value, known_keys(value, "user_preferences"))
    if rest:
        ctx.unhandled({"metadata": raw_meta, **rest})


def preferences(ctx: Change, value: Raw, metadata: Metadata, tenant: str) -> None:
    """The events of ``value.user_preferences[]``: in a ``user_preferences`` change, or beside
    the messages of a ``messages`` change (a stop is honoured wherever Meta puts it)."""
    raw_meta = value["metadata"]
    contacts = value.get("contacts")
    contact_list = contacts if isinstance(contacts, list) else []

    def build(item: Raw) -> MarketingPreferenceChanged:
        wa_id, user_id = optional_text(item, "wa_id"), optional_text(item, "user_id")
        contact = _contact_of(wa_id, user_id, contact_list)
        if contact is not None:
            wa_id = wa_id or optional_text(contact, "wa_id")
            user_id = user_id or optional_text(contact, "user_id")
        if wa_id is None and user_id is None:
            raise NoCustomerIdentity("preference has neither 'wa_id' nor 'user_id'")
        category, choice = required_text(item, "category"), required_text(item, "value").lower()
        at = epoch(item.get("timestamp"))
        extra = leftovers(item, _PREFERENCE_KEYS)
        if contact is not None and not contact.keys() <= {"wa_id", "user_id"}:
            extra["contact"] = contact  # the profile name, and what Meta adds later
        if kept_meta := metadata.kept():
            extra["metadata"] = kept_meta
        pnid = metadata.phone_number_id
        return MarketingPreferenceChanged(
            event_id=named_id("preference", pnid, wa_id or "", user_id or "", category, choice,
                              str(item.get("timestamp")), salt=ctx.salt),
            occurred_at=at,
            tenant_id=tenant,
            conversation_id=customer_conversation_id(pnid, wa_id, user_id),
            payload=MarketingPreference(
                business_phone_number_id=pnid, wa_id=wa_id, user_id=user_id, category=category,
                value=choice, detail=optional_text(item, "detail"), at=at, extra=extra,
            ),
        )

    ctx.each(value, "user_preferences", build, {"metadata": raw_meta, "contacts": contacts})


def parse_app_state_sync(ctx: Change, value: Raw) -> None:
    """One :class:`AppContactSynced` per ``state_sync[]`` contact."""
    metadata = Metadata.of(value)
    tenant = ctx.tenant_for_number(metadata.phone_number_id)
    raw_meta = value["metadata"]

    def build(item: Raw) -> AppContactSynced:
        if item.get("type") != "contact":
            raise ValueError(f"state_sync type {str(item.get('type'))[:40]!r} is not 'contact'")
        contact = item.get("contact")
        if not isinstance(contact, dict):
            raise ValueError("state_sync item has no 'contact' object")
        wa_id = required_text(contact, "phone_number")
        sync_meta = item.get("metadata")
        stamp = sync_meta.get("timestamp") if isinstance(sync_meta, dict) else None
        at = epoch(stamp) if stamp is not None else ctx.occurred_at()
        extra = leftovers(item, _STATE_KEYS)
        if rest := leftovers(contact, _APP_CONTACT_KEYS):
            extra["contact"] = rest
        if isinstance(sync_meta, dict):
            if rest := leftovers(sync_meta, {"timestamp"}):
                extra["sync_metadata"] = rest
        elif sync_meta is not None:
            extra["sync_metadata"] = sync_meta
        if kept_meta := metadata.kept():
            extra["metadata"] = kept_meta
        pnid = metadata.phone_number_id
        return AppContactSynced(
            event_id=content_id("app_contact", pnid, value=item, salt=ctx.salt),
            occurred_at=at,
            tenant_id=tenant,
            conversation_id=customer_conversation_id(pnid, wa_id, None),
            payload=AppContact(
                business_phone_number_id=pnid, wa_id=wa_id,
                full_name=optional_text(contact, "full_name"),
                first_name=optional_text(contact, "first_name"),
                action=required_text(item, "action"), at=at, extra=extra,
            ),
        )

    ctx.each(value, "state_sync", build, {"metadata": raw_meta})
    if "errors" in value:
        ctx.value_errors(value, metadata, tenant)
    rest = leftovers(value, known_keys(value, "state_sync"))
    if rest:
        ctx.unhandled({"metadata": raw_meta, **rest})


def _contact_of(wa_id: str | None, user_id: str | None, contacts: Sequence[Any]) -> Raw | None:
    """The ``contacts[]`` element about this customer (BSUID, else number; a lone one)."""
    candidates = [c for c in contacts if isinstance(c, dict)]
    for contact in candidates:
        if (user_id and contact.get("user_id") == user_id) or (
                wa_id and str(contact.get("wa_id")) == wa_id):
            return contact
    if len(candidates) == 1 and not wa_id and not user_id:
        return candidates[0]
    return None
