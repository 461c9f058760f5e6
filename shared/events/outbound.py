"""Events on ``inbox.outbound.v1``: what outbound_sender did with each send command.

outbound_sender is the only producer; conversation_store folds them into the thread. Each carries
the command id and a snapshot of what was (or would have been) sent, so the thread can show it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, TypeAdapter

from shared.events.base import Contract, Event, JsonObject
from shared.events.inbound import MetaError


class OutboundContent(Contract):
    """What the agent sent, as the thread shows it."""

    kind: Literal["text", "template", "media", "reaction"]
    text: str | None = None
    template_name: str | None = None
    template_language: str | None = None
    media: JsonObject | None = None
    reaction_to_wamid: str | None = None
    emoji: str | None = None
    reply_to_wamid: str | None = None


class OutboundResult(Event):
    """Fields every send result shares."""

    conversation_id: str
    command_id: str
    business_phone_number_id: str
    # As on the command: the number, None when only the BSUID is known (``customer_user_id``).
    customer_wa_id: str | None = None
    customer_user_id: str | None = None
    actor_id: str | None = None
    campaign_id: str | None = None
    reference: str | None = None
    content: OutboundContent


class MessageAccepted(OutboundResult):
    """The Cloud API accepted the send; statuses for ``wamid`` follow on whatsapp.inbound.v1."""

    type: Literal["outbound.accepted"] = "outbound.accepted"
    wamid: str
    accepted_at: AwareDatetime
    # Meta's pacing answer for templates: accepted, held_for_quality_assessment, paused.
    message_status: str | None = None


RefusalCode = Literal[
    "first_contact_requires_template",
    "window_expired",
    "template_not_approved",
    "opted_out",
    "account_restricted",
    "account_disabled",
]


class MessageRefused(OutboundResult):
    """The sender refused the send before calling Meta; ``detail`` is for the agent to read."""

    type: Literal["outbound.refused"] = "outbound.refused"
    reason: RefusalCode
    detail: str
    hint: str | None = None


class MessageFailed(OutboundResult):
    """The Cloud API refused the send, or retries ran out; carries Meta's error."""

    type: Literal["outbound.failed"] = "outbound.failed"
    error: MetaError
    attempts: int = Field(default=1, ge=1)


class MessageOutcomeUnknown(OutboundResult):
    """A send may or may not have reached Meta (e.g. a crash mid-call); never resent blindly."""

    type: Literal["outbound.unknown"] = "outbound.unknown"
    detail: str


OutboundEvent = Annotated[
    MessageAccepted | MessageRefused | MessageFailed | MessageOutcomeUnknown,
    Field(discriminator="type"),
]
OUTBOUND_EVENTS: TypeAdapter[OutboundEvent] = TypeAdapter(OutboundEvent)
