"""The send use case: decide (window policy), pace (token bucket), claim, call, record, publish.

One command at a time per conversation (the lanes guarantee it); many conversations at once.
The flow of a send, and where "never twice" is enforced (see ledger.py for the records)::

    channel + tenant check --no--> failed (decided without a call)
    window policy ---------refused--> refused (decided without a call)
    token bucket (replies first)
    claim attempt n (insert) --taken--> follow the ledger: replay, wait, or report unknown
    POST /messages ----------------> accepted | Meta error | not sent | in doubt
    record the outcome (insert) and publish it; or record a retry mark, wait, attempt n + 1

From the claim to the published outcome nothing is abandoned: a shutdown or rebalance waits for
it (:meth:`SendService.handle` shields that part from cancellation).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from services.outbound_sender import metrics
from services.outbound_sender.cloud import (
    Accepted,
    Answer,
    CloudApi,
    InDoubt,
    Rejected,
    call_within,
)
from services.outbound_sender.errors import classify
from services.outbound_sender.ledger import (
    Claim,
    Done,
    Doubt,
    Fresh,
    Ledger,
    Outcome,
    Resume,
    RetryMark,
    Verdict,
    Wait,
    assess,
    attempt_key,
)
from services.outbound_sender.opt_outs import OPTED_OUT_DETAIL, OPTED_OUT_HINT, OptOutCheck
from services.outbound_sender.payloads import content_of, message_body
from services.outbound_sender.ports import (
    ChannelLookup,
    ConversationWindows,
    InboundCatchUp,
    ResultPublisher,
    TemplateStatuses,
)
from services.outbound_sender.rate import Pacers
from services.outbound_sender.receipts import ReadReceipts
from services.outbound_sender.retry import RetryPolicy
from shared.channels import Channel
from shared.cloud_errors import SENDER_UNKNOWN_CHANNEL, Handling
from shared.events import (
    AnySend,
    JsonObject,
    MarkRead,
    MessageAccepted,
    MessageFailed,
    MessageOutcomeUnknown,
    MessageRefused,
    MetaError,
    React,
    SendMedia,
    SendTemplate,
    SendText,
)
from shared.kafka import default_is_transient
from shared.logging import mask
from shared.window import MessageKind, Refused, decide

log = logging.getLogger(__name__)

T = TypeVar("T")
Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]

SEND_COMMANDS = (SendText, SendTemplate, SendMedia, React)
Result = MessageAccepted | MessageRefused | MessageFailed | MessageOutcomeUnknown


@dataclass(frozen=True, slots=True)
class SendConfig:
    """The use case's knobs (from the settings)."""

    owner: str  # this replica, as recorded in its claims
    call_deadline_seconds: float = 15.0  # a Cloud API call never takes longer (then: in doubt)
    lease_margin_seconds: float = 5.0
    window_recheck_seconds: float = 5.0
    ledger_poll_seconds: float = 1.0
    # Calls in flight at most (the Cloud API clients' connections): past it, sends wait before
    # their claim, so a claim is never older than its call.
    max_in_flight: int = 256
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class SendService:
    """Handles one command: a send, or a read receipt. Safe to call again for the same command."""

    def __init__(
        self,
        *,
        channels: ChannelLookup,
        windows: ConversationWindows,
        templates: TemplateStatuses,
        catch_up: InboundCatchUp,
        ledger: Ledger,
        cloud: CloudApi,
        pacers: Pacers,
        publisher: ResultPublisher,
        config: SendConfig,
        clock: Clock,
        sleep: Sleep = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        opt_outs: OptOutCheck | None = None,
    ) -> None:
        self.channels = channels
        self.opt_outs = opt_outs
        self.windows = windows
        self.templates = templates
        self.catch_up = catch_up
        self.ledger = ledger
        self.cloud = cloud
        self.pacers = pacers
        self.publisher = publisher
        self.config = config
        self.clock = clock
        self.sleep = sleep
        self.rng = rng
        self._call_slots = asyncio.Semaphore(config.max_in_flight)
        self.receipts = ReadReceipts(channels=channels, cloud=cloud, pacers=pacers,
                                     retry=config.retry,
                                     deadline_seconds=config.call_deadline_seconds, sleep=sleep,
                                     rng=rng)

    async def handle(self, command: object) -> None:
        if isinstance(command, SEND_COMMANDS):
            await self._send(command)
        elif isinstance(command, MarkRead):
            await self.receipts.send(command)
        # Assign and resolve/reopen are conversation_store's business.

    # --- sends ------------------------------------------------------------------------------

    async def _send(self, command: AnySend) -> None:
        key = attempt_key(command.tenant_id, command.command_id)
        channel = await self.channels.find(command.business_phone_number_id)
        if channel is None or channel.tenant_id != command.tenant_id:
            verdict = await self._decide_without_call(key, self._unknown_channel(command))
        else:
            refusal = await self._refusal(command, channel)
            if refusal is not None:
                verdict = await self._decide_without_call(key, refusal)
            else:
                verdict = Fresh()
        while verdict is not None:
            verdict = await self._follow(command, channel, key, verdict)

    async def _follow(
        self, command: AnySend, channel: Channel | None, key: str, verdict: Verdict
    ) -> Verdict | None:
        """One step of a command's life, from what the ledger says; None when it is finished."""
        if isinstance(verdict, Done):
            metrics.REPLAYED.inc()
            await self._durably(lambda: self.publisher.publish(_key(command),
                                                               verdict.event_json.encode()))
            return None
        if isinstance(verdict, Wait):
            left = (verdict.until - self.clock()).total_seconds()
            await self.sleep(min(max(left, 0.0), self.config.ledger_poll_seconds))
            return assess(await self.ledger.view(key), self.clock())
        if isinstance(verdict, Doubt):
            event = self._unknown(command, "The sender stopped while calling the Cloud API, so "
                                  "this message may or may not have been sent.")
            await _to_the_end(self._conclude(command, key, event))
            return None
        attempt = 1 if isinstance(verdict, Fresh) else verdict.attempt
        if isinstance(verdict, Resume):
            left = (verdict.not_before - self.clock()).total_seconds()
            if left > 0:
                await self.sleep(left)
        if channel is None:  # the number went away between two attempts
            await _to_the_end(self._conclude(command, key, self._unknown_channel(command)))
            return None
        return await self._attempt(command, channel, key, attempt)

    async def _decide_without_call(self, key: str, event: Result) -> Verdict | None:
        claim = Claim(key=key, attempt=1, claim_id=uuid.uuid4().hex, owner=self.config.owner,
                      at=self.clock(), lease_until=None, outcome=_json(event))
        if await self._durably(lambda: self.ledger.claim(claim)):
            await self._publish(event, claim.outcome)
            return None
        return assess(await self.ledger.view(key), self.clock())

    async def _attempt(
        self, command: AnySend, channel: Channel, key: str, attempt: int
    ) -> Verdict | None:
        pacer = self.pacers.for_channel(channel)
        started = time.monotonic()
        await pacer.acquire(command.priority, command.campaign_id)
        metrics.BUCKET_WAIT.labels(command.priority).observe(time.monotonic() - started)
        lease = self.config.call_deadline_seconds + self.config.lease_margin_seconds
        await self._call_slots.acquire()  # released by _claim_call_record, whatever happens
        now = self.clock()
        claim = Claim(key=key, attempt=attempt, claim_id=uuid.uuid4().hex,
                      owner=self.config.owner, at=now, lease_until=now + timedelta(seconds=lease))
        return await _to_the_end(self._claim_call_record(command, channel, claim))

    async def _claim_call_record(
        self, command: AnySend, channel: Channel, claim: Claim
    ) -> Verdict | None:
        pacer = self.pacers.for_channel(channel)
        try:
            if not await self._durably(lambda: self.ledger.claim(claim)):
                pacer.refund()  # someone else holds this attempt: the token was not used
                return assess(await self.ledger.view(claim.key), self.clock())
            answer = await self._call(channel, message_body(command))
        finally:
            self._call_slots.release()
        attempt = claim.attempt
        if isinstance(answer, Accepted):
            if answer.wamid is None:
                event: Result = self._unknown(
                    command, "The Cloud API accepted the request but named no message id.")
            else:
                event = self._accepted(command, answer)
                metrics.COMMAND_TO_ACCEPTED.observe(
                    max(0.0, (self.clock() - command.occurred_at).total_seconds()))
            await self._conclude(command, claim.key, event)
            return None
        if isinstance(answer, InDoubt):
            event = self._unknown(command, f"The Cloud API did not answer ({answer.reason}); the "
                                  "message may have been sent, so it was not sent again.")
            await self._conclude(command, claim.key, event)
            return None
        rule, error = classify(answer)
        if rule.alert:
            metrics.ALERTS.labels(str(error.code)).inc()
            log.error("Cloud API error needs an operator",
                      extra={"code": error.code, "title": error.title, "details": error.details,
                             "phone_number_id": channel.phone_number_id})
        if rule.handling is Handling.FAIL or attempt >= self.config.retry.attempts_for(rule):
            await self._conclude(command, claim.key, self._failed(command, error, attempt))
            return None
        retry_after = answer.retry_after_seconds if isinstance(answer, Rejected) else None
        delay = self.config.retry.delay(rule, attempt, retry_after, self.rng)
        if rule.throttle_number:
            pacer.penalize(delay)
        now = self.clock()
        mark = RetryMark(key=claim.key, attempt=attempt, code=error.code, at=now,
                         retry_at=now + timedelta(seconds=delay))
        await self._durably(lambda: self.ledger.record_retry(mark))
        metrics.RETRIES.labels(str(error.code)).inc()
        log.info("send will be retried", extra={
            "command_id": command.command_id, "conversation_id": command.conversation_id,
            "attempt": attempt, "code": error.code, "delay_seconds": round(delay, 3)})
        return Resume(attempt + 1, mark.retry_at)

    async def _conclude(self, command: AnySend, key: str, event: Result) -> None:
        """Record the outcome (the first recorded wins) and publish it."""
        mine = Outcome(key=key, event_json=_json(event), event_type=event.type)
        stored = await self._durably(lambda: self.ledger.record_outcome(mine))
        if stored.event_json != mine.event_json:
            # Another process concluded first (it judged the attempt in doubt while this one was
            # still calling). Publish both: the store ranks "accepted" above "unknown".
            await self._durably(lambda: self.publisher.publish(_key(command),
                                                               stored.event_json.encode()))
            if not isinstance(event, MessageAccepted):
                return
        await self._publish(event, mine.event_json)

    async def _publish(self, event: Result, event_json: str | None = None) -> None:
        value = event_json.encode() if event_json is not None else event.to_bytes()
        await self._durably(lambda: self.publisher.publish(event.record_key(), value))
        if isinstance(event, MessageAccepted):
            metrics.SENT.labels(event.content.kind).inc()
        elif isinstance(event, MessageRefused):
            metrics.REFUSED.labels(event.reason).inc()
        elif isinstance(event, MessageFailed):
            metrics.FAILED.labels(str(event.error.code)).inc()
        else:
            metrics.UNKNOWN.inc()

    async def _call(self, channel: Channel, body: JsonObject) -> Answer:
        return await call_within(self.cloud, channel, body, self.config.call_deadline_seconds)

    # --- the window policy ------------------------------------------------------------------

    async def _refusal(self, command: AnySend, channel: Channel) -> MessageRefused | None:
        if isinstance(command, SendTemplate):
            status = await self.templates.status(channel.waba_id, command.template_name,
                                                 command.language)
            decision = decide(MessageKind.TEMPLATE, None, self.clock(), status)
            if (not isinstance(decision, Refused) and self.opt_outs is not None
                    and await self.opt_outs.blocks(command, channel)):
                return MessageRefused(**self._fields(command), reason="opted_out",
                                      detail=OPTED_OUT_DETAIL, hint=OPTED_OUT_HINT)
        else:
            last = await self.windows.last_inbound_at(command.conversation_id)
            decision = decide(MessageKind.FREE_FORM, last, self.clock())
            if isinstance(decision, Refused):
                # A customer message acknowledged to Meta just now may not be stored yet: wait
                # until the store has caught up with what Kafka holds, then decide again.
                caught_up = await self.catch_up.wait(command.conversation_id,
                                                     self.config.window_recheck_seconds)
                last = await self.windows.last_inbound_at(command.conversation_id)
                decision = decide(MessageKind.FREE_FORM, last, self.clock())
                result = "allowed" if not isinstance(decision, Refused) else (
                    "refused" if caught_up else "store_behind")
                metrics.WINDOW_RECHECKS.labels(result).inc()
        if not isinstance(decision, Refused):
            return None
        return MessageRefused(**self._fields(command), reason=decision.reason.value,
                              detail=decision.message, hint=decision.hint)

    # --- results ----------------------------------------------------------------------------

    def _fields(self, command: AnySend) -> dict[str, Any]:
        return {
            "occurred_at": self.clock(),
            "tenant_id": command.tenant_id,
            "conversation_id": command.conversation_id,
            "command_id": command.command_id,
            "business_phone_number_id": command.business_phone_number_id,
            "customer_wa_id": command.customer_wa_id,
            "actor_id": command.actor_id,
            "campaign_id": command.campaign_id,
            "reference": command.reference,
            "content": content_of(command),
        }

    def _accepted(self, command: AnySend, answer: Accepted) -> MessageAccepted:
        fields = self._fields(command)
        assert answer.wamid is not None
        return MessageAccepted(**fields, wamid=answer.wamid, accepted_at=fields["occurred_at"],
                               message_status=answer.message_status)

    def _failed(self, command: AnySend, error: MetaError, attempts: int) -> MessageFailed:
        return MessageFailed(**self._fields(command), error=error, attempts=attempts)

    def _unknown(self, command: AnySend, why: str) -> MessageOutcomeUnknown:
        return MessageOutcomeUnknown(
            **self._fields(command),
            detail=f"{why} Check the thread for delivery ticks before sending it again.")

    def _unknown_channel(self, command: AnySend) -> MessageFailed:
        log.warning("send for a number that is not the tenant's channel", extra={
            "command_id": command.command_id, "tenant_id": command.tenant_id,
            "phone_number_id": command.business_phone_number_id,
            "customer": mask(command.customer_wa_id)})
        return self._failed(command, MetaError(
            code=SENDER_UNKNOWN_CHANNEL, title="Unknown business number",
            message="This business phone number is not configured for this tenant.",
            details=f"phone_number_id {command.business_phone_number_id}"), attempts=1)

    async def _durably(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run a ledger or broker write until it succeeds: a lost record here would turn a sent
        message into an unknown one (or lose its result)."""
        attempt = 0
        while True:
            try:
                return await operation()
            except Exception as exc:
                if not default_is_transient(exc):
                    raise
                attempt += 1
                metrics.DEPENDENCY_ERRORS.inc()
                log.warning("dependency unavailable; retrying a ledger or publish write",
                            extra={"attempt": attempt, "error": f"{type(exc).__name__}: {exc}"})
                await self.sleep(min(5.0, 0.1 * 2 ** min(attempt, 6)) * (0.5 + self.rng() / 2))


def _json(event: Result) -> str:
    return event.to_bytes().decode()


def _key(command: AnySend) -> bytes:
    return command.conversation_id.encode()


async def _to_the_end(work: Awaitable[T]) -> T:
    """Await ``work`` to its end even if the caller is cancelled meanwhile (then re-raise)."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            await asyncio.wait({task})
        raise
