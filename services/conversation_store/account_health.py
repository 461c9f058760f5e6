"""Meta's notices about a tenant's account and numbers, folded into ``account_health``.

``account.notice`` (``account_update``, ``account_alerts``, ``business_capability_update``) and
``phone_number.quality_changed`` become one document per (account or number, kind of notice):
the newest notice of a kind wins by Meta's time, so a lifted restriction or a reinstatement
replaces what it ends, and a replay or a late, older webhook changes nothing. The collection and
what each notice means are ``shared/account_health.py``, ``shared/account_banners.py`` and
``shared/account_policy.py``.

This module is the pure part; adapters/mongo_account_health.py writes the changes (step 4 of
pipeline.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.account_health import (
    ACCOUNT,
    BAN,
    BAN_EVENTS,
    CAPABILITY,
    QUALITY,
    RESTRICTION,
    VIOLATION,
    display_scope,
    meta_time,
    notice_id,
    number_scope,
)
from shared.events import AccountNoticeReceived, PhoneNumberQualityChanged
from shared.events.base import Event


@dataclass(frozen=True, slots=True)
class HealthChange:
    """One notice to store: its document's ``_id`` and fields (``at`` orders the writes)."""

    doc_id: str
    fields: dict[str, Any]

    @property
    def at(self) -> datetime:
        at: datetime = self.fields["at"]
        return at


def kind_of(field: str, event: str, has_restrictions: bool) -> str:
    """Which notices replace each other: one document per scope and kind."""
    if field == "account_update":
        if event in BAN_EVENTS:
            return BAN
        if event == "ACCOUNT_RESTRICTION" or has_restrictions:
            return RESTRICTION
        if event == "ACCOUNT_VIOLATION":
            return VIOLATION
        return f"update:{event}"
    if field == "account_alerts":
        return f"alert:{event}"
    if field == "business_capability_update":
        return CAPABILITY
    return f"{field}:{event}"


def changes_of(event: Event) -> list[HealthChange]:
    """The notice an event stores (none for other events). Pure."""
    if isinstance(event, AccountNoticeReceived):
        p = event.payload
        name = p.event.upper()
        scope = number_scope(p.business_phone_number_id) if p.business_phone_number_id \
            else ACCOUNT
        kind = kind_of(p.field, name, bool(p.restrictions))
        restrictions = [
            {"restriction_type": str(r.get("restriction_type") or "").upper(),
             "expiration": meta_time(r.get("expiration"))}
            for r in p.restrictions]
        return [HealthChange(notice_id(event.tenant_id, p.waba_id, scope, kind), {
            "tenant_id": event.tenant_id, "waba_id": p.waba_id, "scope": scope, "kind": kind,
            "field": p.field, "event": name,
            "business_phone_number_id": p.business_phone_number_id,
            # The number as people know it, when the webhook said it (the metadata's, kept in
            # details): the banner names a number by it rather than by its id.
            "display_phone_number": _display(p.details),
            "severity": p.severity, "status": p.status,
            "description": p.description, "restrictions": restrictions,
            "details": bson_safe(dict(p.details)), "at": p.at})]
    if isinstance(event, PhoneNumberQualityChanged):
        q = event.payload
        display = q.display_phone_number
        scope = display_scope(display) if display else ACCOUNT
        details = {**q.extra, "current_limit": q.current_limit}
        return [HealthChange(notice_id(event.tenant_id, q.waba_id, scope, QUALITY), {
            "tenant_id": event.tenant_id, "waba_id": q.waba_id, "scope": scope,
            "kind": QUALITY, "field": "phone_number_quality_update", "event": q.event.upper(),
            "business_phone_number_id": None, "display_phone_number": display,
            "severity": None, "status": None, "description": None, "restrictions": [],
            "details": bson_safe(details), "at": event.occurred_at})]
    return []


def _display(details: Mapping[str, Any]) -> str | None:
    number = details.get("display_phone_number")
    return number if isinstance(number, str) and number else None


def latest(changes: Sequence[HealthChange]) -> dict[str, HealthChange]:
    """The newest notice per document (a later one in the batch wins a tie)."""
    out: dict[str, HealthChange] = {}
    for change in changes:
        held = out.get(change.doc_id)
        if held is None or change.at >= held.at:
            out[change.doc_id] = change
    return out


def bson_safe(value: Any, in_list: bool = False) -> Any:
    """Meta's details, verbatim but for arrays inside arrays (FerretDB v1 refuses them): an
    inner array is kept as its JSON text."""
    if isinstance(value, dict):
        return {str(k): bson_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        if in_list:
            return json.dumps(value, separators=(",", ":"), default=str)
        return [bson_safe(v, True) for v in value]
    return value
