"""One ``entry[].changes[]`` item being parsed: its tenant, where its events go, and how a part
that cannot be read is kept. Pure: no I/O.

Every field's parser (:mod:`.normalize`, :mod:`.echoes`, :mod:`.history`, :mod:`.calls`,
:mod:`.customers`, :mod:`.account`) receives a :class:`Change` and appends events to it. What a
parser cannot read is never dropped: an unusable item is kept alone as webhook.unhandled (and
counted in :attr:`Normalized.malformed`); an exception anywhere else turns the whole change into
one webhook.unhandled event (counted in :attr:`Normalized.failures`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from services.webhook_ingest.ids import content_id
from services.webhook_ingest.payload import Metadata, NoCustomerIdentity, Raw, epoch, meta_errors
from shared.channels import UNASSIGNED_TENANT
from shared.events.base import Contract, Event
from shared.events.inbound import (
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
    # One field name per item kept as webhook.unhandled because it could not be read (a message
    # without an id, a call without a customer, ...); its siblings were parsed.
    malformed: list[str] = field(default_factory=list)


Parser = Callable[["Change", Raw], None]


@dataclass(slots=True)
class Change:
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
        """The entry's time (Meta's ``entry[].time``), else when we received the webhook."""
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

    def parse(self, parsers: Mapping[str, Parser]) -> None:
        """Emit this change's events; what cannot be parsed is kept as webhook.unhandled."""
        parser = parsers.get(self.field_name)
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

    def item_failed(self, kept: Any, exc: Exception) -> None:
        """Keep one unreadable item (``kept``: it with the value's context) as webhook.unhandled,
        saying why, and count it; its siblings are unaffected."""
        if isinstance(exc, NoCustomerIdentity):
            self.out.anonymous += 1
        self.out.malformed.append(self.field_name)
        self.unhandled(kept, error=f"{type(exc).__name__}: {exc}")

    def unhandled(self, value: Any = None, error: str | None = None) -> None:
        """Keep ``value`` (default: the whole change value) as a webhook.unhandled event."""
        kept = self.value if value is None else value
        if error is not None:
            kept = {"parse_error": error[:500], "value": kept}
        number = metadata_number(self.value)
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

    def each(self, value: Raw, key: str, build: Callable[[Raw], Event], kept: Raw) -> None:
        """``build`` one event per object of ``value[key]``; an item it cannot read (a
        ``ValueError``, ``KeyError`` or ``TypeError``) is kept alone as webhook.unhandled, with
        ``kept`` (the value's context: metadata, contacts) around it."""
        items = value.get(key)
        for item in items if isinstance(items, list) else ():
            try:
                if not isinstance(item, dict):
                    raise TypeError(f"a {key} item is not an object")
                self.events.append(build(item))
            except ITEM_ERRORS as exc:
                self.item_failed({**kept, key: [item]}, exc)

    def value_errors(self, value: Raw, metadata: Metadata, tenant: str) -> None:
        """``value.errors[]`` (system or account level) as webhook.errors_reported; what that does
        not carry (an unmapped key, a code that is not a number) is kept as unhandled too."""
        raw_meta = value.get("metadata")
        errors, complete = meta_errors(value["errors"])
        if errors:
            self.events.append(
                WebhookErrorsReported(
                    event_id=content_id("webhook.errors", self.waba_id, self.field_name,
                                        value={"metadata": raw_meta, "errors": value["errors"]},
                                        salt=self.salt),
                    occurred_at=self.occurred_at(),
                    tenant_id=tenant,
                    payload=WebhookErrors(waba_id=self.waba_id, field=self.field_name,
                                          business_phone_number_id=metadata.phone_number_id,
                                          errors=errors),
                )
            )
        if not complete or not errors:
            self.unhandled({"metadata": raw_meta, "errors": value["errors"]})


def known_keys(value: Mapping[str, Any], *lists: str) -> set[str]:
    """The value keys a number-scoped parser reads: ``metadata``, ``errors``, ``messaging_product``
    when it is "whatsapp", each of ``lists`` that is a list, and ``contacts`` beside one of them
    (read into the items' customer profiles)."""
    known = {"metadata", "errors"}
    if value.get("messaging_product") == "whatsapp":
        known.add("messaging_product")
    present = [key for key in lists if isinstance(value.get(key), list)]
    known.update(present)
    if present and isinstance(value.get("contacts"), list):
        known.add("contacts")
    return known


def metadata_number(value: Any) -> str | None:
    """``value.metadata.phone_number_id``, when the value has one."""
    if isinstance(value, dict) and isinstance(value.get("metadata"), dict):
        number = value["metadata"].get("phone_number_id")
        return str(number) if number not in (None, "") else None
    return None
