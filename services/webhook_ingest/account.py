"""Account-level webhook fields -> :class:`AccountNoticeReceived`. Pure: no I/O.

What Meta tells a tenant's admins about its WhatsApp Business Account and numbers, keyed by
tenant (no conversation): bans, restrictions and violations (``account_update``), alerts
(``account_alerts``: messaging-limit decisions, Official Business Account status, a deleted
profile photo), capability changes (``business_capability_update``: messaging and number
limits), the account's policy review (``account_review_update``), a number's display-name review
(``phone_number_name_update``) and its two-step verification PIN (``security``). The history
sync's progress and refusal (:mod:`.history`) use :func:`notice` too.

``event`` is Meta's event, alert type or decision, verbatim; where a field has none, a fixed name
(:data:`CAPABILITY_UPDATE`). Every other field of the value is kept verbatim in ``details``.
"""

from __future__ import annotations

from typing import Any

from services.webhook_ingest.change import ITEM_ERRORS, Change
from services.webhook_ingest.ids import content_id
from services.webhook_ingest.payload import Raw, leftovers, optional_text, required_text
from shared.events.account import AccountNotice, AccountNoticeReceived

CAPABILITY_UPDATE = "BUSINESS_CAPABILITY_UPDATE"
# field -> the value key that names what happened (None: the field's fixed event name).
_EVENT_KEYS: dict[str, str | None] = {
    "account_update": "event",
    "account_review_update": "decision",
    "phone_number_name_update": "decision",
    "security": "event",
    "business_capability_update": None,
}
NOTICE_FIELDS = frozenset({*_EVENT_KEYS, "account_alerts"})
_ALERT_KEYS = frozenset({"alert_type", "alert_severity", "alert_status", "alert_description"})


def parse_notice(ctx: Change, value: Raw) -> None:
    """One notice per change of an account-level field; a value it cannot read (no ``event``,
    no ``alert_info``) is kept as webhook.unhandled and counted as a malformed item."""
    try:
        if ctx.field_name == "account_alerts":
            _alert(ctx, value)
        else:
            _notice(ctx, value)
    except ITEM_ERRORS as exc:
        ctx.item_failed(value, exc)


def _notice(ctx: Change, value: Raw) -> None:
    key = _EVENT_KEYS[ctx.field_name]
    event = required_text(value, key) if key is not None else CAPABILITY_UPDATE
    known = {key} if key is not None else set()
    restrictions: list[Raw] = []
    info = value.get("restriction_info")
    if isinstance(info, list) and all(isinstance(item, dict) for item in info):
        restrictions = info
        known.add("restriction_info")
    description = _name_review(value) if ctx.field_name == "phone_number_name_update" else None
    notice(ctx, value, event=event, restrictions=restrictions, description=description,
           details=leftovers(value, known))


def _name_review(value: Raw) -> str | None:
    """A display-name review in Meta's words: the name, the decision, the reason."""
    name, decision = value.get("requested_verified_name"), value.get("decision")
    if not isinstance(name, str) or not isinstance(decision, str):
        return None
    reason = value.get("rejection_reason")
    because = f": {reason}" if isinstance(reason, str) and reason not in ("", "NONE") else ""
    return f'Display name "{name}" {decision.lower()}{because}'


def _alert(ctx: Change, value: Raw) -> None:
    """``account_alerts``: ``entity_type`` / ``entity_id`` (a business, a phone number, ...) and
    ``alert_info{alert_type, alert_severity, alert_status, alert_description}``."""
    info = value.get("alert_info")
    if not isinstance(info, dict):
        raise ValueError("account_alerts has no 'alert_info' object")
    details = leftovers(value, {"alert_info"})
    if rest := leftovers(info, _ALERT_KEYS):
        details["alert_info"] = rest
    number = None
    if value.get("entity_type") == "PHONE_NUMBER":
        number = optional_text(value, "entity_id")
    notice(ctx, value, event=required_text(info, "alert_type"), number=number,
           severity=optional_text(info, "alert_severity"),
           status=optional_text(info, "alert_status"),
           description=optional_text(info, "alert_description"), details=details)


def notice(ctx: Change, identity: Any, *, event: str, number: str | None = None,
           tenant: str | None = None, severity: str | None = None, status: str | None = None,
           description: str | None = None, restrictions: list[Raw] | None = None,
           details: Raw | None = None) -> None:
    """Emit one :class:`AccountNoticeReceived`; ``identity`` (the raw value it stands for) names
    it, so a retried webhook yields the same event id."""
    ctx.events.append(AccountNoticeReceived(
        event_id=content_id("account.notice", ctx.waba_id, ctx.field_name, str(ctx.time),
                            value=identity, salt=ctx.salt),
        occurred_at=ctx.occurred_at(),
        tenant_id=tenant if tenant is not None else (
            ctx.tenant_for_number(number) if number is not None else ctx.tenant_for_waba()),
        payload=AccountNotice(
            waba_id=ctx.waba_id,
            field=ctx.field_name,
            event=event,
            business_phone_number_id=number,
            severity=severity,
            status=status,
            description=description,
            restrictions=restrictions or [],
            at=ctx.occurred_at(),
            details=details or {},
        ),
    ))
