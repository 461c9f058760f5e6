"""Campaign collections and ids shared by inbox_api (writes campaigns), outbound_sender (the
dispatcher) and conversation_store (opt-outs). See docs/campaigns.md."""

from __future__ import annotations

import uuid

from pymongo import ASCENDING, DESCENDING, IndexModel

CAMPAIGNS_COLLECTION = "campaigns"
CAMPAIGN_RECIPIENTS_COLLECTION = "campaign_recipients"
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
    CAMPAIGN_RECIPIENTS_COLLECTION: [
        # The next queued recipients by row; the report by state.
        IndexModel([("campaign_id", ASCENDING), ("state", ASCENDING), ("row", ASCENDING)],
                   name="campaign_state_row"),
        IndexModel([("campaign_id", ASCENDING), ("row", ASCENDING)], name="campaign_row"),
        # The messaging limit: releases on a number in the last 24 h.
        IndexModel([("business_phone_number_id", ASCENDING), ("released_at", ASCENDING)],
                   name="number_released"),
    ],
}

_COMMAND_NAMESPACE = uuid.UUID("0b7a4c1e-2f0d-4e55-9a0e-5d7c3c2b9f41")


def recipient_id(campaign_id: str, wa_id: str) -> str:
    """One recipient per canonical number per campaign."""
    return f"{campaign_id}:{wa_id}"


def campaign_command_id(campaign_id: str, wa_id: str) -> str:
    """Deterministic, so a re-released recipient is the same command (the sender's ledger
    sends a command id once)."""
    return str(uuid.uuid5(_COMMAND_NAMESPACE, f"{campaign_id}\n{wa_id}"))


def opt_out_id(tenant_id: str, business_phone_number_id: str, wa_id: str) -> str:
    return f"{tenant_id}:{business_phone_number_id}:{wa_id}"
