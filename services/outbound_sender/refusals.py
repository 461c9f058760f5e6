"""Refuse or go: what the sender decides before any token, claim or call. Pure.

Given the command and the facts (read by service.py, only as far as the decision needs them),
each function returns the refusal (reason, detail and hint, written for the agent) or None: go.

* the number is not the tenant's channel: not a refusal but ``outbound.failed``
  (outcomes.unknown_channel), an operator's matter;
* Meta's notices about the account or the number (``shared/account_policy.py``): a disabled
  account refuses every send (``account_disabled``); a messaging restriction refuses the sends
  it names until it expires (``account_restricted``: business-initiated, a template outside the
  customer's window; customer-initiated, anything inside it);
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

from collections.abc import Sequence
from datetime import datetime
from typing import TypeGuard

from services.outbound_sender.ports import StoredWindow
from shared import account_policy, marketing
from shared.account_health import Notice
from shared.account_policy import Initiator
from shared.channels import Channel
from shared.events import AnySend
from shared.window import MessageKind, Refused, decide, is_window_open

# The same refusal inbox_api pre-checks with (shared/marketing.py).
OPTED_OUT = marketing.OPTED_OUT


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


def initiator_of(window: StoredWindow, now: datetime) -> Initiator:
    """A send inside the customer's open window answers them; any other starts a conversation."""
    return (Initiator.CUSTOMER if is_window_open(window.last_inbound_at, now, window.closed_at)
            else Initiator.BUSINESS)


def account_refusal(notices: Sequence[Notice], channel: Channel, initiator: Initiator,
                    now: datetime) -> Refused | None:
    """What Meta's notices about the account or this number refuse (a ban, a restriction)."""
    return account_policy.refusal(notices, phone_number_id=channel.phone_number_id,
                                  initiator=initiator, now=now)
