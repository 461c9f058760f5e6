"""The ``account_health`` collection: Meta's notices about a tenant's WhatsApp account and numbers.

conversation_store folds ``account.notice`` (Meta's ``account_update``, ``account_alerts`` and
``business_capability_update``) and ``phone_number.quality_changed`` into it, one document per
(account or number, kind of notice): the newest notice of a kind replaces the one before (by
Meta's time), so a restriction that Meta replaces or lifts, or a reinstatement after a ban, ends
what it replaced. outbound_sender reads the notices that can refuse a send (restrictions and
bans) by ``_id``; inbox_api reads a tenant's notices for the banner every agent sees and for its
pre-check. What a notice means is ``shared/account_banners.py``; which sends it refuses,
``shared/account_policy.py``.

A document::

    {_id: "{tenant}:{waba}:{scope}:{kind}", tenant_id, waba_id,
     scope: "account" | "number:{phone_number_id}" | "display:{display number}",
     kind: "restriction" | "ban" | "violation" | "quality" | "capability" | "alert:{type}"
           | "update:{event}",
     field (Meta's webhook field), event (Meta's event or alert type),
     business_phone_number_id, display_phone_number, severity, status, description,
     restrictions: [{restriction_type, expiration: date | null}], details (the rest, verbatim),
     at (Meta's time: orders the writes), updated_at}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel

ACCOUNT_HEALTH_COLLECTION = "account_health"

# Scopes: the whole account (a WABA), one number by id, one number by its display number
# (Meta's phone_number_quality_update names the number only so).
ACCOUNT = "account"

# Kinds: each is one document per scope; the newest notice of a kind wins.
RESTRICTION = "restriction"  # account_update ACCOUNT_RESTRICTION (restriction_info)
BAN = "ban"  # account_update DISABLED_UPDATE (ban_info), ACCOUNT_BANNED, ...: on or off
VIOLATION = "violation"  # account_update ACCOUNT_VIOLATION (violation_info)
QUALITY = "quality"  # phone_number_quality_update (FLAGGED, UNFLAGGED, DOWNGRADE, ...)
CAPABILITY = "capability"  # business_capability_update (messaging limit, numbers allowed)
# Every other account_update event is "update:{event}"; an account alert "alert:{alert type}".

# The events of account_update that say the account is disabled or given back.
BAN_EVENTS = frozenset({"DISABLED_UPDATE", "ACCOUNT_BANNED", "ACCOUNT_DISABLED",
                        "ACCOUNT_DELETED", "ACCOUNT_REINSTATED", "REINSTATED"})

INDEXES: dict[str, list[IndexModel]] = {
    # A tenant's notices, newest first: the banner and inbox_api's pre-check.
    ACCOUNT_HEALTH_COLLECTION: [
        IndexModel([("tenant_id", ASCENDING), ("at", DESCENDING)], name="tenant_at"),
    ],
}


def notice_id(tenant_id: str, waba_id: str, scope: str, kind: str) -> str:
    return f"{tenant_id}:{waba_id}:{scope}:{kind}"


def number_scope(phone_number_id: str) -> str:
    return f"number:{phone_number_id}"


def display_scope(display_phone_number: str) -> str:
    return "display:" + "".join(ch for ch in display_phone_number if ch.isdigit())


def refusing_ids(tenant_id: str, waba_id: str, phone_number_id: str) -> list[str]:
    """The ``_id``s of the only notices that can refuse a send from this number: restrictions
    and bans of its account and of the number itself (the sender reads these, by ``_id $in``)."""
    return [notice_id(tenant_id, waba_id, scope, kind)
            for scope in (ACCOUNT, number_scope(phone_number_id)) for kind in (RESTRICTION, BAN)]


def meta_time(value: object) -> datetime | None:
    """Meta's time in a notice: ISO 8601 (``2026-12-12T14:00:00+0000``) or Unix seconds; None
    when absent or unreadable. A time without a zone is UTC."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if text.isdigit():
            return meta_time(int(text))
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return None


@dataclass(frozen=True, slots=True)
class Restriction:
    restriction_type: str
    expiration: datetime | None = None  # None: until Meta says otherwise


@dataclass(frozen=True, slots=True)
class Notice:
    """One stored notice, as the policy reads it."""

    tenant_id: str
    waba_id: str
    scope: str
    kind: str
    field: str
    event: str
    at: datetime
    business_phone_number_id: str | None = None
    display_phone_number: str | None = None
    severity: str | None = None
    status: str | None = None
    description: str | None = None
    restrictions: tuple[Restriction, ...] = ()
    details: Mapping[str, Any] = dc_field(default_factory=dict)

    @property
    def id(self) -> str:
        return notice_id(self.tenant_id, self.waba_id, self.scope, self.kind)

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Notice:
        """A stored document (BSON dates come back naive: they are UTC)."""
        restrictions = tuple(
            Restriction(str(r.get("restriction_type") or "").upper(),
                        meta_time(r.get("expiration")))
            for r in doc.get("restrictions") or [] if isinstance(r, Mapping))
        at = meta_time(doc.get("at")) or datetime.fromtimestamp(0, UTC)
        details = doc.get("details")
        return cls(
            tenant_id=str(doc.get("tenant_id") or ""), waba_id=str(doc.get("waba_id") or ""),
            scope=str(doc.get("scope") or ACCOUNT), kind=str(doc.get("kind") or ""),
            field=str(doc.get("field") or ""), event=str(doc.get("event") or "").upper(),
            at=at, business_phone_number_id=_text(doc.get("business_phone_number_id")),
            display_phone_number=_text(doc.get("display_phone_number")),
            severity=_upper(doc.get("severity")), status=_upper(doc.get("status")),
            description=_text(doc.get("description")), restrictions=restrictions,
            details=details if isinstance(details, Mapping) else {})

    def applies_to(self, phone_number_id: str) -> bool:
        """An account-wide notice applies to every number; a number's only to itself."""
        return self.scope in (ACCOUNT, number_scope(phone_number_id))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _upper(value: object) -> str | None:
    return value.upper() if isinstance(value, str) and value else None
