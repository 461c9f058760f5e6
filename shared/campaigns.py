"""Campaign collections and ids shared by inbox_api (writes campaigns), outbound_sender (the
dispatcher) and conversation_store (opt-outs). See docs/campaigns.md."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from pymongo import ASCENDING, DESCENDING, IndexModel

CAMPAIGNS_COLLECTION = "campaigns"
CAMPAIGN_RECIPIENTS_COLLECTION = "campaign_recipients"
# One small document per number in a campaign: its insert decides a duplicate.
CAMPAIGN_NUMBERS_COLLECTION = "campaign_numbers"
# Releases per business number per hour (the messaging limit's rolling 24 h).
CAMPAIGN_RELEASE_HOURS_COLLECTION = "campaign_release_hours"
OPT_OUTS_COLLECTION = "opt_outs"

# Campaign states. Final ones never change again.
DRAFT, SCHEDULED, RUNNING, PAUSED = "draft", "scheduled", "running", "paused"
CANCELLED, COMPLETED, STOPPED = "cancelled", "completed", "stopped"
FINAL_STATES = frozenset({CANCELLED, COMPLETED, STOPPED})

# Recipient states.
QUEUED, RELEASED, SKIPPED, NOT_SENT = "queued", "released", "skipped", "not_sent"

# Both inbox_api (the API) and outbound_sender (the dispatcher) ensure these at start-up.
CAMPAIGN_INDEXES: dict[str, list[IndexModel]] = {
    CAMPAIGNS_COLLECTION: [
        # A tenant's campaigns, newest first.
        IndexModel([("tenant_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
                   name="tenant_created"),
        # The dispatcher's "due" query.
        IndexModel([("state", ASCENDING), ("schedule.at_utc", ASCENDING)], name="state_due"),
    ],
    # Recipients, numbers and hourly release counts are read and written by `_id` only (a
    # primary-key operation on MongoDB, and the only one FerretDB v1 narrows): no index.
}

_COMMAND_NAMESPACE = uuid.UUID("0b7a4c1e-2f0d-4e55-9a0e-5d7c3c2b9f41")


# Seven digits sort as numbers up to 9,999,999 positions (uploads are at most 200,000 rows).
def recipient_id(campaign_id: str, position: int) -> str:
    """A recipient by its position in the campaign's audience (1, 2, ... over all uploads, in
    send order), so a range of positions is a list of ids."""
    return f"{campaign_id}:{position:07d}"


def recipient_ids(campaign_id: str, first: int, last: int) -> list[str]:
    """The ids of positions ``first`` .. ``last`` (inclusive; empty when last < first)."""
    return [recipient_id(campaign_id, p) for p in range(first, last + 1)]


def position_chunks(first: int, last: int, size: int) -> list[tuple[int, int]]:
    """``first`` .. ``last`` cut into inclusive ranges of at most ``size`` positions."""
    return [(start, min(start + size - 1, last)) for start in range(first, last + 1, size)]


def number_id(campaign_id: str, wa_id: str) -> str:
    """One per canonical number per campaign (a second insert is a duplicate number)."""
    return f"{campaign_id}:n:{wa_id}"


# Positions per `_id $in` read or write when a whole range is walked (report, give up).
RANGE_CHUNK = 500

RELEASE_HOUR = timedelta(hours=1)
MESSAGING_LIMIT_HOURS = 24


def release_hour(at: datetime) -> datetime:
    """The start of ``at``'s hour (the messaging limit counts releases per hour)."""
    return at.replace(minute=0, second=0, microsecond=0)


def release_hour_id(number: str, hour: datetime) -> str:
    return f"{number}:{hour:%Y%m%d%H}"


def window_hours(now: datetime) -> list[datetime]:
    """The 25 hours whose releases count at ``now``: the hour holding now - 24 h through now's
    own. Releases up to one hour older than 24 h are counted too: conservative, never over."""
    last = release_hour(now)
    return [last - RELEASE_HOUR * i for i in range(MESSAGING_LIMIT_HOURS, -1, -1)]


def campaign_command_id(campaign_id: str, wa_id: str) -> str:
    """Deterministic, so a re-released recipient is the same command (the sender's ledger
    sends a command id once)."""
    return str(uuid.uuid5(_COMMAND_NAMESPACE, f"{campaign_id}\n{wa_id}"))


def opt_out_id(tenant_id: str, business_phone_number_id: str, wa_id: str) -> str:
    """``wa_id`` is the customer's canonical number, or their BSUID when the number is
    unknown (:func:`customer_key`)."""
    return f"{tenant_id}:{business_phone_number_id}:{wa_id}"


def customer_key(wa_id: str | None, user_id: str | None) -> str:
    """A campaign recipient's or a send's customer as opt-outs key them: the number when it is
    known, else the BSUID (a customer who hides their number)."""
    key = wa_id or user_id
    if not key:
        raise ValueError("a customer needs a phone number or a BSUID")
    return key
