"""Refuse or go: what the sender decides before any token, claim or call. Pure.

Given the command and the facts (read by service.py, only as far as the decision needs them),
each function returns the refusal (reason, detail and hint, written for the agent) or None: go.

* the number is not the tenant's channel: not a refusal but ``outbound.failed``
  (outcomes.unknown_channel), an operator's matter;
* a template: Meta's status must be ``APPROVED``; then a MARKETING template is refused to a
  customer who opted out (``opted_out``), whoever sends it;
* anything else: the 24-hour window (``first_contact_requires_template``, ``window_expired``),
  closed also when Meta last answered 131047 at or after the customer's last message.

The window rule is ``shared/window.py`` ``decide()``, which the inbox API pre-checks with; the
sender is its authority. A free-form refusal is decided twice: service.py waits for
conversation_store to catch up with Kafka before the second decision (docs/outbound_sender.md,
"the race with a customer's message").
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeGuard

from services.outbound_sender.ports import StoredWindow
from shared.channels import Channel
from shared.events import AnySend
from shared.window import MessageKind, RefusalReason, Refused, decide

OPTED_OUT = Refused(
    RefusalReason.OPTED_OUT,
    "This customer asked to stop receiving marketing messages from this number, so marketing "
    "templates are not sent to them.",
    "Reply within the customer's 24-hour window, or send a utility template; the customer can "
    "opt back in by sending START.",
)


def is_tenants_channel(channel: Channel | None, command: AnySend) -> TypeGuard[Channel]:
    """The command's number is a channel, and the command's tenant's."""
    return channel is not None and channel.tenant_id == command.tenant_id


def template_refusal(status: str | None, now: datetime) -> Refused | None:
    """A template goes only when Meta approved it (None: unknown template, refused)."""
    decision = decide(MessageKind.TEMPLATE, None, now, status)
    return decision if isinstance(decision, Refused) else None


def window_refusal(window: StoredWindow, now: datetime) -> Refused | None:
    """A free-form message goes only inside the customer's 24-hour window (and not after Meta
    said it closed)."""
    decision = decide(MessageKind.FREE_FORM, window.last_inbound_at, now,
                      closed_at=window.closed_at)
    return decision if isinstance(decision, Refused) else None
