"""Inbound events about a customer that are not messages: marketing preferences, calls, and the
WhatsApp Business app's contact sync (coexistence). On ``whatsapp.inbound.v1`` beside messages;
webhook_ingest is their only producer and gives each its customer's conversation id, so they are
ordered with that customer's messages.

Meta's shapes: /work/shared/whatsapp-cloud-api.md section 13 and docs/webhook_kinds.md.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from shared.events.base import Contract, Event, JsonObject


class MarketingPreference(Contract):
    """``user_preferences[]``: the customer stopped or resumed marketing messages (Meta's own
    opt-out, honoured like a STOP keyword)."""

    business_phone_number_id: str
    # None when Meta hides the number; then ``user_id`` (the BSUID) names the customer.
    wa_id: str | None = None
    user_id: str | None = None
    category: str  # "marketing_messages" (the only one Meta sends today)
    value: str  # "stop" | "resume", lower-cased
    detail: str | None = None
    at: AwareDatetime
    extra: JsonObject = Field(default_factory=dict)


class MarketingPreferenceChanged(Event):
    """A customer changed their marketing-message preference at Meta. Emitted by webhook_ingest."""

    type: Literal["customer.marketing_preference"] = "customer.marketing_preference"
    payload: MarketingPreference


class Call(Contract):
    """One ``calls[]`` item (``field: "calls"``): a WhatsApp voice call's connect, status or
    terminate event, as a thread line."""

    call_id: str
    business_phone_number_id: str
    # The customer (the caller of a USER_INITIATED call, the callee of a BUSINESS_INITIATED one).
    wa_id: str | None = None
    user_id: str | None = None
    direction: str | None = None  # USER_INITIATED | BUSINESS_INITIATED
    event: str | None = None  # connect | terminate | status (Meta's ``event``, or "status")
    status: str | None = None  # RINGING, ACCEPTED, REJECTED, COMPLETED, FAILED, ...
    at: AwareDatetime
    started_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None
    duration_seconds: int | None = None
    errors: list[JsonObject] = Field(default_factory=list)
    extra: JsonObject = Field(default_factory=dict)


class CallUpdated(Event):
    """A call between a customer and a business number changed state. Emitted by webhook_ingest."""

    type: Literal["call.updated"] = "call.updated"
    payload: Call


class AppContact(Contract):
    """``smb_app_state_sync[]`` of type ``contact``: the business app's address book entry."""

    business_phone_number_id: str
    wa_id: str
    full_name: str | None = None
    first_name: str | None = None
    action: str  # "add" | "remove"
    at: AwareDatetime
    extra: JsonObject = Field(default_factory=dict)


class AppContactSynced(Event):
    """The WhatsApp Business app on the same number synced a contact. Emitted by webhook_ingest."""

    type: Literal["customer.app_contact_synced"] = "customer.app_contact_synced"
    payload: AppContact
