"""What Meta's account and number notices mean for sends: the sends refused before any call
because Meta would refuse them. Pure: the notices (``shared/account_health.py``) and ``now`` are
passed in. The banner every agent sees, in the same words, is ``shared/account_banners.py``.

The refusal rule (outbound_sender applies it and is its authority; inbox_api pre-checks with it):

* a disabled account (``DISABLED_UPDATE`` with ban state ``DISABLE``, ``ACCOUNT_BANNED``,
  ``ACCOUNT_DISABLED``, ``ACCOUNT_DELETED``): every send, until Meta reinstates it;
* ``RESTRICTED_BIZ_INITIATED_MESSAGING``: a send that starts a conversation (a template to a
  customer whose 24-hour window is not open), until its ``expiration``;
* ``RESTRICTED_CUSTOMER_INITIATED_MESSAGING``: a send inside the customer's window (a reply,
  free-form or template), until its ``expiration``;
* nothing else refuses: ``RESTRICTED_ADD_PHONE_NUMBER_ACTION``, a flagged or downgraded number,
  a policy violation, a scheduled disable and the account alerts are banners only.

A send is "business-initiated" when the customer's window is not open, "customer-initiated"
inside it (Meta's words; a free-form message can only be the latter). A restriction without an
expiration lasts until Meta replaces it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from shared.account_health import BAN, RESTRICTION, Notice, Restriction
from shared.window import RefusalReason, Refused

BIZ_INITIATED = "RESTRICTED_BIZ_INITIATED_MESSAGING"
CUSTOMER_INITIATED = "RESTRICTED_CUSTOMER_INITIATED_MESSAGING"
ADD_PHONE_NUMBER = "RESTRICTED_ADD_PHONE_NUMBER_ACTION"


class Initiator(StrEnum):
    """Who starts the exchange a send belongs to, as Meta's restrictions count it."""

    BUSINESS = "business"  # the customer's window is not open: only a template can go
    CUSTOMER = "customer"  # inside the customer's 24-hour window: a reply


def when(at: datetime) -> str:
    """``12 Dec 2026 14:00 UTC``."""
    utc = at.astimezone(UTC)
    return f"{utc.day} {utc:%b %Y %H:%M} UTC"


def until_text(expiration: datetime | None) -> str:
    return f"until {when(expiration)}" if expiration else "until Meta lifts it"


# -- the refusal rule ------------------------------------------------------------------------


def active(restriction: Restriction, now: datetime) -> bool:
    return restriction.expiration is None or now < restriction.expiration


def ban_state(notice: Notice) -> str:
    """DISABLE, SCHEDULE_FOR_DISABLE or REINSTATE (Meta's ``ban_info.waba_ban_state``, a string
    or a list of one), from the event when Meta names the state in it."""
    if notice.event in ("ACCOUNT_REINSTATED", "REINSTATED"):
        return "REINSTATE"
    if notice.event != "DISABLED_UPDATE":
        return "DISABLE"
    ban = notice.details.get("ban_info")
    state: Any = ban.get("waba_ban_state") if isinstance(ban, Mapping) else None
    if isinstance(state, list):
        state = state[-1] if state else None
    return str(state).upper() if isinstance(state, str) and state else "DISABLE"


def _disabled(notice: Notice) -> bool:
    return notice.kind == BAN and ban_state(notice) == "DISABLE"


def _in_force(notices: Iterable[Notice], phone_number_id: str, now: datetime
              ) -> list[tuple[Notice, Restriction | None]]:
    """The bans (restriction None) and active messaging restrictions on this number."""
    found: list[tuple[Notice, Restriction | None]] = []
    for notice in notices:
        if not notice.applies_to(phone_number_id):
            continue
        if _disabled(notice):
            found.append((notice, None))
        elif notice.kind == RESTRICTION:
            found += [(notice, r) for r in notice.restrictions
                      if r.restriction_type in (BIZ_INITIATED, CUSTOMER_INITIATED)
                      and active(r, now)]
    return found


def needs_initiator(notices: Iterable[Notice], phone_number_id: str, now: datetime) -> bool:
    """Whether the rule needs to know who initiates (so the caller reads the window only then)."""
    return any(r is not None for _, r in _in_force(notices, phone_number_id, now))


def refusal(notices: Iterable[Notice], *, phone_number_id: str, initiator: Initiator,
            now: datetime) -> Refused | None:
    """The refusal Meta's notices impose on a send from this number, else None."""
    in_force = _in_force(notices, phone_number_id, now)
    for notice, restriction in in_force:
        if restriction is None:
            return Refused(
                RefusalReason.ACCOUNT_DISABLED,
                f"Meta disabled this WhatsApp Business account ({notice.event}), so no message "
                "can be sent from it.",
                "An admin can see why and request a review in WhatsApp Manager.")
    for _, restriction in in_force:
        assert restriction is not None
        until = until_text(restriction.expiration)
        if restriction.restriction_type == BIZ_INITIATED and initiator is Initiator.BUSINESS:
            return Refused(
                RefusalReason.ACCOUNT_RESTRICTED,
                f"Meta restricted business-initiated messaging on this account {until} "
                f"({BIZ_INITIATED}): a template cannot start a conversation with a customer "
                "who has not written in the last 24 hours.",
                "Reply to customers inside their 24-hour window"
                + (f"; templates can start conversations again from "
                   f"{when(restriction.expiration)}." if restriction.expiration else "."))
        if (restriction.restriction_type == CUSTOMER_INITIATED
                and initiator is Initiator.CUSTOMER):
            return Refused(
                RefusalReason.ACCOUNT_RESTRICTED,
                f"Meta restricted customer-initiated messaging on this account {until} "
                f"({CUSTOMER_INITIATED}): replies to customers inside their 24-hour window "
                "cannot be sent.",
                "Wait for the restriction to end; an admin can see why in WhatsApp Manager.")
    return None
