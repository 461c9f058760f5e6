"""The account's webhooks, and the restrictions the sandbox then enforces. Pure: no I/O.

Account-level fields carry ``entry[].time`` and no ``messaging_product``/``metadata`` (Meta's
references for each field):

- ``account_update``: ``value{event, ...}``. ``ACCOUNT_RESTRICTION`` adds ``restriction_info[
  {restriction_type, expiration (Unix seconds, an integer), remediation?}]``; other events add
  their own object (``violation_info``, ``ban_info``, ``waba_info``, ...), given verbatim.
- ``account_alerts``: ``value{entity_type, entity_id, alert_info{alert_severity, alert_status,
  alert_type, alert_description}}``.
- ``business_capability_update``: ``value{max_daily_conversations_per_business,
  max_phone_numbers_per_waba, ...}`` (the capabilities that changed).

:class:`Restrictions` keeps each account's active restrictions until they expire (on the
sandbox's clock) or the control API lifts them. Two of Meta's restriction types change what a
send gets: ``RESTRICTED_BIZ_INITIATED_MESSAGING`` (the business may not start a conversation:
a template to a customer whose window is closed) and ``RESTRICTED_CUSTOMER_INITIATED_MESSAGING``
(it may not answer: any message inside an open window). Both are refused synchronously with
Meta's integrity error 368 ("Temporarily blocked for policies violations", HTTP 403); the
others are only reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sandbox.webhooks import envelope

Raw = dict[str, Any]

ACCOUNT_UPDATE = "account_update"
ACCOUNT_ALERTS = "account_alerts"
BUSINESS_CAPABILITY_UPDATE = "business_capability_update"
ACCOUNT_RESTRICTION = "ACCOUNT_RESTRICTION"
BIZ_INITIATED = "RESTRICTED_BIZ_INITIATED_MESSAGING"
CUSTOMER_INITIATED = "RESTRICTED_CUSTOMER_INITIATED_MESSAGING"
# Meta's restriction types (account_update reference).
RESTRICTION_TYPES = frozenset({
    "RESTRICTED_ADD_PHONE_NUMBER_ACTION", "RESTRICTED_BIZ_INITIATED_AND_USER_INITIATED_CALLING",
    BIZ_INITIATED, "RESTRICTED_BUSINESS_INITIATED_CALLING", CUSTOMER_INITIATED,
    "RESTRICTED_DIRECT_SEND_UTILITY_TEMPLATES", "RESTRICTED_USER_INITIATED_CALLING",
    "RESTRICTED_USER_INITIATED_CALLING_CALL_BUTTON_HIDDEN", "RESTRICTED_UTILITY_TEMPLATES"})
POLICY_BLOCK = 368  # Meta's integrity error for a restricted or disabled account
CAPABILITIES = frozenset({"max_daily_conversation_per_phone",
                          "max_daily_conversations_per_business",
                          "max_phone_numbers_per_business", "max_phone_numbers_per_waba"})


class Restriction(NamedTuple):
    restriction_type: str
    expiration: int  # Unix seconds
    remediation: str | None = None

    def json(self) -> Raw:
        out: Raw = {"restriction_type": self.restriction_type, "expiration": self.expiration}
        if self.remediation is not None:
            out["remediation"] = self.remediation
        return out


def account_update(waba_id: str, event: str, time: int, *,
                   restrictions: Iterable[Restriction] = (),
                   details: Mapping[str, Any] | None = None) -> Raw:
    """``account_update``: ``details`` are the event's other fields, verbatim."""
    value: Raw = {"event": event}
    value.update((k, v) for k, v in (details or {}).items() if k != "event")
    info = [r.json() for r in restrictions]
    if info:
        value["restriction_info"] = info
    return envelope(waba_id, ACCOUNT_UPDATE, value, time)


def account_alert(waba_id: str, time: int, *, entity_type: str, entity_id: str,
                  severity: str, status: str, alert_type: str, description: str) -> Raw:
    return envelope(waba_id, ACCOUNT_ALERTS, {
        "entity_type": entity_type, "entity_id": entity_id,
        "alert_info": {"alert_severity": severity, "alert_status": status,
                       "alert_type": alert_type, "alert_description": description}}, time)


def business_capability(waba_id: str, time: int, capabilities: Mapping[str, Any]) -> Raw:
    return envelope(waba_id, BUSINESS_CAPABILITY_UPDATE, dict(capabilities), time)


class Restrictions:
    """Each account's restrictions: restriction type -> expiration (Unix seconds)."""

    def __init__(self) -> None:
        self._by_account: dict[str, dict[str, int]] = {}

    def __bool__(self) -> bool:
        return bool(self._by_account)

    def restrict(self, waba_id: str, restrictions: Iterable[Restriction]) -> None:
        found = self._by_account.setdefault(waba_id, {})
        for r in restrictions:
            found[r.restriction_type] = r.expiration

    def lift(self, waba_id: str, types: Iterable[str] | None = None) -> None:
        """Lift the named restrictions (all of the account's when None)."""
        found = self._by_account.get(waba_id)
        if found is None:
            return
        for name in list(found) if types is None else types:
            found.pop(name, None)
        if not found:
            del self._by_account[waba_id]

    def active(self, waba_id: str, now: datetime) -> dict[str, int]:
        """The account's restrictions in force at ``now`` (type -> expiration)."""
        found = self._by_account.get(waba_id)
        if not found:
            return {}
        at = now.timestamp()
        return {name: until for name, until in found.items() if at < until}

    def listing(self, now: datetime) -> dict[str, list[Raw]]:
        """Every account's restrictions in force, for the control API."""
        out: dict[str, list[Raw]] = {}
        for waba_id in self._by_account:
            active = self.active(waba_id, now)
            if active:
                out[waba_id] = [{"restriction_type": name, "expiration": until,
                                 "expires_at": datetime.fromtimestamp(until, UTC).isoformat()}
                                for name, until in sorted(active.items())]
        return out

    def clear(self) -> None:
        self._by_account.clear()
