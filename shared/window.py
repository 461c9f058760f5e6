"""The customer-service window policy: may this message go to this customer now?

Pure: no I/O, no clock. The sender decides with it (it is the authority); the inbox API pre-checks
with the same function so an agent sees at once why a send would be refused.

Rules (Meta's): a customer's message opens a 24-hour window, each further message restarts it.
Inside it any message may be sent; outside it (or before the customer ever wrote) only an approved
template. The window is open while ``now < last_inbound_at + 24h``: at exactly 24 h it is closed,
as Meta counts it. A ``last_inbound_at`` in the future (clock skew between Meta and us) counts as
"just now", never as closed.
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


def is_window_open(last_inbound_at: datetime | None, now: datetime) -> bool:
    expires = window_expires_at(last_inbound_at)
    return expires is not None and now < expires


def decide(
    kind: MessageKind,
    last_inbound_at: datetime | None,
    now: datetime,
    template_status: str | None = None,
) -> Decision:
    """Allowed or refused (with a reason) for a message of ``kind`` at ``now``.

    ``template_status`` is the template's Meta status (``APPROVED``, ``PAUSED``, ...) and is
    required for templates; an unknown template (None) is refused like an unapproved one.
    """
    _require_aware(now, "now")
    if last_inbound_at is not None:
        _require_aware(last_inbound_at, "last_inbound_at")
    expires = window_expires_at(last_inbound_at)
    if kind is MessageKind.TEMPLATE:
        if (template_status or "").upper() != "APPROVED":
            shown = template_status.lower() if template_status else "unknown"
            return Refused(
                RefusalReason.TEMPLATE_NOT_APPROVED,
                f"This template is {shown}; only approved templates can be sent.",
                "Pick an approved template, or wait for Meta to approve this one.",
            )
        return Allowed(expires if expires is not None and now < expires else None)
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
    return Allowed(expires)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
