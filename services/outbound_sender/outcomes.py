"""What a send ends as: its outcome event, and publishing it (the pipeline's last step).

Exactly one outcome per send on ``inbox.outbound.v1``: ``outbound.accepted`` (Meta's wamid),
``outbound.refused`` (refusals.py, before Meta), ``outbound.failed`` (Meta's error, retries
exhausted, or a number that is not the tenant's) or ``outbound.unknown`` (the call may have
reached Meta; never resent). The events are built here from the command (pure: ``now`` is an
argument); :class:`Outcomes` publishes them. An outcome is published only after the ledger
recorded it (attempts.py), so a redelivered command republishes the recorded bytes (same
``event_id``) and the store folds them once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from services.outbound_sender import metrics
from services.outbound_sender.cloud import Accepted
from services.outbound_sender.durable import durably
from services.outbound_sender.payloads import content_of
from services.outbound_sender.ports import ResultPublisher
from shared.cloud_errors import SENDER_UNKNOWN_CHANNEL
from shared.events import (
    AnySend,
    MessageAccepted,
    MessageFailed,
    MessageOutcomeUnknown,
    MessageRefused,
    MetaError,
)
from shared.logging import mask
from shared.window import Refused

log = logging.getLogger(__name__)

Result = MessageAccepted | MessageRefused | MessageFailed | MessageOutcomeUnknown


def accepted(command: AnySend, answer: Accepted, now: datetime) -> MessageAccepted:
    assert answer.wamid is not None
    return MessageAccepted(**_fields(command, now), wamid=answer.wamid, accepted_at=now,
                           message_status=answer.message_status)


def refused(command: AnySend, refusal: Refused, now: datetime) -> MessageRefused:
    return MessageRefused(**_fields(command, now), reason=refusal.reason.value,
                          detail=refusal.message, hint=refusal.hint)


def failed(command: AnySend, error: MetaError, attempts: int, now: datetime) -> MessageFailed:
    return MessageFailed(**_fields(command, now), error=error, attempts=attempts)


def unknown(command: AnySend, why: str, now: datetime) -> MessageOutcomeUnknown:
    return MessageOutcomeUnknown(
        **_fields(command, now),
        detail=f"{why} Check the thread for delivery ticks before sending it again.")


def unknown_channel(command: AnySend, now: datetime) -> MessageFailed:
    """A number that is not the tenant's channel: failed without a call (an operator's matter,
    not the window policy's)."""
    log.warning("send for a number that is not the tenant's channel", extra={
        "command_id": command.command_id, "tenant_id": command.tenant_id,
        "phone_number_id": command.business_phone_number_id,
        "customer": mask(command.customer_wa_id or command.customer_user_id or "")})
    return failed(command, MetaError(
        code=SENDER_UNKNOWN_CHANNEL, title="Unknown business number",
        message="This business phone number is not configured for this tenant.",
        details=f"phone_number_id {command.business_phone_number_id}"), 1, now)


def to_json(event: Result) -> str:
    """The event as the ledger stores it (and publishes it again, byte for byte)."""
    return event.to_bytes().decode()


def _fields(command: AnySend, now: datetime) -> dict[str, Any]:
    return {
        "occurred_at": now,
        "tenant_id": command.tenant_id,
        "conversation_id": command.conversation_id,
        "command_id": command.command_id,
        "business_phone_number_id": command.business_phone_number_id,
        "customer_wa_id": command.customer_wa_id,
        "customer_user_id": command.customer_user_id,
        "actor_id": command.actor_id,
        "campaign_id": command.campaign_id,
        "reference": command.reference,
        "content": content_of(command),
    }


class Outcomes:
    """Publishes outcome events, each until the broker acknowledged it, and counts them."""

    def __init__(self, publisher: ResultPublisher, sleep: Callable[[float], Awaitable[None]],
                 rng: Callable[[], float]) -> None:
        self.publisher = publisher
        self.sleep = sleep
        self.rng = rng

    async def publish(self, event: Result, event_json: str | None = None) -> None:
        """Publish an outcome this process decided (``event_json``: as the ledger recorded it)."""
        value = event_json.encode() if event_json is not None else event.to_bytes()
        await durably(lambda: self.publisher.publish(event.record_key(), value),
                      self.sleep, self.rng)
        if isinstance(event, MessageAccepted):
            metrics.SENT.labels(event.content.kind).inc()
        elif isinstance(event, MessageRefused):
            metrics.REFUSED.labels(event.reason).inc()
        elif isinstance(event, MessageFailed):
            metrics.FAILED.labels(str(event.error.code)).inc()
        else:
            metrics.UNKNOWN.inc()

    async def publish_recorded(self, command: AnySend, event_json: str) -> None:
        """Publish an outcome found in the ledger (a replay, or another process's) as stored."""
        await durably(lambda: self.publisher.publish(command.conversation_id.encode(),
                                                     event_json.encode()),
                      self.sleep, self.rng)
