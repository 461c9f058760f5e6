"""The attempt state machine: the ledger's verdict decides each next step of a send.

Steps 2 to 6 of the send pipeline (service.py), from what the ledger says (``ledger.assess``)::

    Fresh, Resume(n) --> pace --> claim attempt n --taken--> follow the ledger's new verdict
                     --> call --> accepted / Meta error / not sent / in doubt
                     --> record: the outcome (first recorded wins) --> publish
                              or a retry mark --> Resume(n + 1), from its retry time
    Done             --> publish the recorded outcome again, send nothing
    Wait             --> another live owner is calling: look again, at its lease's end at most
    Doubt            --> its owner vanished mid-call: unknown, published, never resent

From the claim to the published outcome nothing is abandoned: a shutdown or rebalance waits for
it (:func:`_to_the_end` shields that part from cancellation).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from services.outbound_sender import metrics, outcomes
from services.outbound_sender.cloud import (
    Accepted,
    Answer,
    CloudApi,
    InDoubt,
    Rejected,
    call_within,
)
from services.outbound_sender.durable import Sleep, durably
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
)
from services.outbound_sender.outcomes import Outcomes, Result
from services.outbound_sender.payloads import message_body
from services.outbound_sender.rate import Pacer, Pacers
from services.outbound_sender.retry import RetryPolicy
from shared.channels import Channel
from shared.cloud_errors import Handling
from shared.events import AnySend, MessageAccepted

log = logging.getLogger(__name__)

T = TypeVar("T")


class Attempts:
    """Makes, records and follows the attempts of one send at a time (per conversation)."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        cloud: CloudApi,
        pacers: Pacers,
        outcomes: Outcomes,
        owner: str,
        call_deadline_seconds: float,
        lease_margin_seconds: float,
        ledger_poll_seconds: float,
        max_in_flight: int,
        retry: RetryPolicy,
        clock: Callable[[], datetime],
        sleep: Sleep,
        rng: Callable[[], float],
    ) -> None:
        self.ledger = ledger
        self.cloud = cloud
        self.pacers = pacers
        self.outcomes = outcomes
        self.owner = owner
        self.call_deadline_seconds = call_deadline_seconds
        self.lease_seconds = call_deadline_seconds + lease_margin_seconds
        self.ledger_poll_seconds = ledger_poll_seconds
        self.retry = retry
        self.clock = clock
        self.sleep = sleep
        self.rng = rng
        # Past this many calls in flight, sends wait before their claim, so that a claim is
        # never older than its call.
        self._call_slots = asyncio.Semaphore(max_in_flight)

    async def decide_without_call(self, key: str, event: Result) -> Verdict | None:
        """Record a decision taken without calling Meta (refused, unknown number) as attempt 1
        and publish it; if the ledger already holds the command, its verdict instead."""
        claim = Claim(key=key, attempt=1, claim_id=uuid.uuid4().hex, owner=self.owner,
                      at=self.clock(), lease_until=None, outcome=outcomes.to_json(event))
        if await self._durably(lambda: self.ledger.claim(claim)):
            await self.outcomes.publish(event, claim.outcome)
            return None
        return assess(await self.ledger.view(key), self.clock())

    async def follow(
        self, command: AnySend, channel: Channel | None, key: str, verdict: Verdict
    ) -> Verdict | None:
        """One step of a command's life, from what the ledger says; None when it is finished."""
        if isinstance(verdict, Done):
            metrics.REPLAYED.inc()
            await self.outcomes.publish_recorded(command, verdict.event_json)
            return None
        if isinstance(verdict, Wait):
            left = (verdict.until - self.clock()).total_seconds()
            await self.sleep(min(max(left, 0.0), self.ledger_poll_seconds))
            return assess(await self.ledger.view(key), self.clock())
        if isinstance(verdict, Doubt):
            event = outcomes.unknown(command, "The sender stopped while calling the Cloud API, "
                                     "so this message may or may not have been sent.",
                                     self.clock())
            await _to_the_end(self._conclude(command, key, event))
            return None
        attempt = 1 if isinstance(verdict, Fresh) else verdict.attempt
        if isinstance(verdict, Resume):
            left = (verdict.not_before - self.clock()).total_seconds()
            if left > 0:
                await self.sleep(left)
        if channel is None:  # the number went away between two attempts
            await _to_the_end(self._conclude(command, key,
                                             outcomes.unknown_channel(command, self.clock())))
            return None
        return await self._attempt(command, channel, key, attempt)

    async def _attempt(
        self, command: AnySend, channel: Channel, key: str, attempt: int
    ) -> Verdict | None:
        """Step 2, pace: the number's token bucket (replies first), then a free call slot."""
        pacer = self.pacers.for_channel(channel)
        started = time.monotonic()
        await pacer.acquire(command.priority, command.campaign_id)
        metrics.BUCKET_WAIT.labels(command.priority).observe(time.monotonic() - started)
        await self._call_slots.acquire()  # released by _claim_and_call, whatever happens
        now = self.clock()
        claim = Claim(key=key, attempt=attempt, claim_id=uuid.uuid4().hex, owner=self.owner,
                      at=now, lease_until=now + timedelta(seconds=self.lease_seconds))
        return await _to_the_end(self._claim_and_call(command, channel, pacer, claim))

    async def _claim_and_call(
        self, command: AnySend, channel: Channel, pacer: Pacer, claim: Claim
    ) -> Verdict | None:
        """Step 3, claim (an insert; someone else's: follow the ledger), and step 4, call."""
        try:
            if not await self._durably(lambda: self.ledger.claim(claim)):
                pacer.refund()  # someone else holds this attempt: the token was not used
                return assess(await self.ledger.view(claim.key), self.clock())
            answer = await call_within(self.cloud, channel, message_body(command),
                                       self.call_deadline_seconds)
        finally:
            self._call_slots.release()
        return await self._record(command, channel, pacer, claim, answer)

    async def _record(
        self, command: AnySend, channel: Channel, pacer: Pacer, claim: Claim, answer: Answer
    ) -> Verdict | None:
        """Step 5, record: the outcome (then step 6, publish), or a retry mark."""
        attempt = claim.attempt
        if isinstance(answer, Accepted):
            if answer.wamid is None:
                event: Result = outcomes.unknown(
                    command, "The Cloud API accepted the request but named no message id.",
                    self.clock())
            else:
                event = outcomes.accepted(command, answer, self.clock())
                metrics.COMMAND_TO_ACCEPTED.observe(
                    max(0.0, (self.clock() - command.occurred_at).total_seconds()))
            await self._conclude(command, claim.key, event)
            return None
        if isinstance(answer, InDoubt):
            event = outcomes.unknown(command, f"The Cloud API did not answer ({answer.reason}); "
                                     "the message may have been sent, so it was not sent again.",
                                     self.clock())
            await self._conclude(command, claim.key, event)
            return None
        rule, error = classify(answer)
        if rule.alert:
            metrics.ALERTS.labels(str(error.code)).inc()
            log.error("Cloud API error needs an operator",
                      extra={"code": error.code, "title": error.title, "details": error.details,
                             "phone_number_id": channel.phone_number_id})
        if rule.handling is Handling.FAIL or attempt >= self.retry.attempts_for(rule):
            await self._conclude(command, claim.key,
                                 outcomes.failed(command, error, attempt, self.clock()))
            return None
        retry_after = answer.retry_after_seconds if isinstance(answer, Rejected) else None
        delay = self.retry.delay(rule, attempt, retry_after, self.rng)
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
        """Record the outcome (the first recorded wins), then publish it."""
        mine = Outcome(key=key, event_json=outcomes.to_json(event), event_type=event.type)
        stored = await self._durably(lambda: self.ledger.record_outcome(mine))
        if stored.event_json != mine.event_json:
            # Another process concluded first (it judged the attempt in doubt while this one was
            # still calling). Publish both: the store ranks "accepted" above "unknown".
            await self.outcomes.publish_recorded(command, stored.event_json)
            if not isinstance(event, MessageAccepted):
                return
        await self.outcomes.publish(event, mine.event_json)

    def _durably(self, operation: Callable[[], Awaitable[T]]) -> Awaitable[T]:
        return durably(operation, self.sleep, self.rng)


async def _to_the_end(work: Awaitable[T]) -> T:
    """Await ``work`` to its end even if the caller is cancelled meanwhile (then re-raise)."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            await asyncio.wait({task})
        raise
