"""The customer-service window policy: may this message go to this customer now?

Pure: no I/O, no clock. The sender decides with it (it is the authority); the inbox API pre-checks
with the same function so an agent sees at once why a send would be refused.

Rules (Meta's): a customer's message opens a 24-hour window, each further message restarts it.
Inside it any message may be sent; outside it (or before the customer ever wrote) only an approved
template. The window is open while ``now < last_inbound_at + 24h``: at exactly 24 h it is closed,
as Meta counts it. A ``last_inbound_at`` in the future (clock skew between Meta and us) counts as
"just now", never as closed.

Meta has the last word: when it fails a free-form send with 131047 (re-engagement: more than 24 h
since the customer's last message), the conversation records when (``window_closed_at``, Meta's
time). The window is then closed whatever our clock says, as long as that report is at or after
the customer's last message; the customer's next message reopens it as usual.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

WINDOW = timedelta(hours=24)

TEMPLATE_HINT = "Send an approved template instead."


class MessageKind(StrEnum):
    """What the agent wants to send, as far as the window cares."""

    FREE_FORM = "free_form"  # text, media, reaction: anything that is not a template
    TEMPLATE = "template"


class RefusalReason(StrEnum):
    """Why a send was refused; the values travel in ``outbound.refused`` events."""

    FIRST_CONTACT_REQUIRES_TEMPLATE = "first_contact_requires_template"
    WINDOW_EXPIRED = "window_expired"
    TEMPLATE_NOT_APPROVED = "template_not_approved"
    # The customer asked to stop marketing messages (docs/campaigns.md); the sender decides it.
    OPTED_OUT = "opted_out"
    # Meta restricted the account's messaging, or disabled the account (shared/account_policy.py).
    ACCOUNT_RESTRICTED = "account_restricted"
    ACCOUNT_DISABLED = "account_disabled"


@dataclass(frozen=True, slots=True)
class Allowed:
    """The message may be sent. ``window_expires_at`` is None when no window is open."""

    window_expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class Refused:
    """The message may not be sent; ``message`` and ``hint`` are written for the agent."""

    reason: RefusalReason
    message: str
    hint: str


Decision = Allowed | Refused


def window_expires_at(last_inbound_at: datetime | None) -> datetime | None:
    """When the window closes, or None if the customer never wrote."""
    return None if last_inbound_at is None else last_inbound_at + WINDOW


def closed_by_meta(last_inbound_at: datetime | None, closed_at: datetime | None) -> bool:
    """Meta reported the window closed (131047) at or after the customer's last message."""
    return closed_at is not None and (last_inbound_at is None or closed_at >= last_inbound_at)


def is_window_open(last_inbound_at: datetime | None, now: datetime,
                   closed_at: datetime | None = None) -> bool:
    expires = window_expires_at(last_inbound_at)
    return (expires is not None and now < expires
            and not closed_by_meta(last_inbound_at, closed_at))


def decide(
    kind: MessageKind,
    last_inbound_at: datetime | None,
    now: datetime,
    template_status: str | None = None,
    *,
    closed_at: datetime | None = None,
) -> Decision:
    """Allowed or refused (with a reason) for a message of ``kind`` at ``now``.

    ``template_status`` is the template's Meta status (``APPROVED``, ``PAUSED``, ...) and is
    required for templates; an unknown template (None) is refused like an unapproved one.
    ``closed_at`` is the latest time Meta reported the window closed (the conversation's
    ``window_closed_at``), None if it never did.
    """
    _require_aware(now, "now")
    if last_inbound_at is not None:
        _require_aware(last_inbound_at, "last_inbound_at")
    if closed_at is not None:
        _require_aware(closed_at, "closed_at")
    expires = window_expires_at(last_inbound_at)
    if kind is MessageKind.TEMPLATE:
        if (template_status or "").upper() != "APPROVED":
            shown = template_status.lower() if template_status else "unknown"
            return Refused(
                RefusalReason.TEMPLATE_NOT_APPROVED,
                f"This template is {shown}; only approved templates can be sent.",
                "Pick an approved template, or wait for Meta to approve this one.",
            )
        return Allowed(expires if is_window_open(last_inbound_at, now, closed_at) else None)
    if last_inbound_at is None:
        return Refused(
            RefusalReason.FIRST_CONTACT_REQUIRES_TEMPLATE,
            "This customer has not written to you yet: the first message must be a template.",
            TEMPLATE_HINT,
        )
    assert expires is not None
    if now >= expires:
        return Refused(
            RefusalReason.WINDOW_EXPIRED,
            "More than 24 hours have passed since the customer's last message, so free-form "
            "messages are not allowed.",
            TEMPLATE_HINT,
        )
    if closed_by_meta(last_inbound_at, closed_at):
        return Refused(
            RefusalReason.WINDOW_EXPIRED,
            "WhatsApp reported that more than 24 hours have passed since the customer's last "
            "message, so free-form messages are not allowed until the customer writes again.",
            TEMPLATE_HINT,
        )
    return Allowed(expires)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
