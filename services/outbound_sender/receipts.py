"""Read receipts (``MarkRead``) and typing indicators (``ShowTyping``): the blue ticks and the
"typing..." on the customer's phone.

Neither is a message: no outbound result, nothing in the thread. Both take a token of the
number's bucket (every request counts at Meta) and are retried while Meta says retry.

**A read receipt goes to Meta once per message**, through the send ledger (ledger.py): before
the call it claims ``{tenant}:read:{wamid}`` (an insert; the unique ``_id`` decides), so opening
the thread again, a redelivered command, or another replica after a rebalance finds the claim and
sends nothing. Meta marks every earlier message read with the latest, so one receipt per newest
customer message is all a thread needs. As for sends, "never twice" wins: a claim whose call may
have reached Meta (accepted, in doubt, or a crash mid-call) is never retried; only a receipt whose
retries ran out on an answer that says "not done, retry" (throttling, Meta overloaded, the API
unreachable) leaves a retry mark, and the next ``MarkRead`` of that message claims the next
attempt (:func:`receipt_attempt`). The claims expire with the ledger's retention; a thread opened
after that marks its newest message again, which Meta takes as a no-op.

**A typing indicator** is dropped when it waited too long to still be true, and the sender lets
one through per conversation per 10 s (shared/typing_indicator.py). It marks its message read
too, so once sent it also claims that message's receipt: a later open sends no second one.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from services.outbound_sender import metrics
from services.outbound_sender.cloud import Accepted, CloudApi, InDoubt, Rejected, call_within
from services.outbound_sender.errors import classify
from services.outbound_sender.ledger import (
    Claim,
    Fresh,
    Ledger,
    Resume,
    RetryMark,
    Verdict,
    assess,
    attempt_key,
)
from services.outbound_sender.payloads import mark_read_body, typing_body
from services.outbound_sender.ports import ChannelLookup
from services.outbound_sender.rate import Pacers
from services.outbound_sender.retry import RetryPolicy
from shared.channels import Channel
from shared.cloud_errors import Handling
from shared.events import JsonObject, MarkRead, ShowTyping
from shared.typing_indicator import TypingThrottle, typing_stale

log = logging.getLogger(__name__)


def receipt_key(tenant_id: str, wamid: str) -> str:
    """The ledger key of a message's read receipt (command ids are UUIDs: no clash)."""
    return attempt_key(tenant_id, f"read:{wamid}")


def receipt_attempt(verdict: Verdict) -> int | None:
    """Which attempt of a message's receipt to claim, given what the ledger holds: the first
    when nothing is recorded, the next one after a retry mark; None when a receipt was sent, may
    have been, or is being sent (Done, Doubt, Wait): never twice."""
    if isinstance(verdict, Fresh):
        return 1
    if isinstance(verdict, Resume):
        return verdict.attempt
    return None


@dataclass(frozen=True, slots=True)
class Ended:
    """How a receipt's or an indicator's calls ended: ``outcome`` is the metric's label (sent,
    unknown, failed, stale); ``retry_later`` when nothing reached Meta and a later request may
    try again."""

    outcome: str
    retry_later: bool = False
    code: int | None = None


class ReadReceipts:
    """Marks an inbound message read on WhatsApp, and shows the typing indicator."""

    def __init__(self, *, channels: ChannelLookup, cloud: CloudApi, pacers: Pacers,
                 retry: RetryPolicy, deadline_seconds: float,
                 sleep: Callable[[float], Awaitable[None]], rng: Callable[[], float],
                 ledger: Ledger, owner: str, clock: Callable[[], datetime],
                 throttle: TypingThrottle | None = None) -> None:
        self.channels = channels
        self.cloud = cloud
        self.pacers = pacers
        self.retry = retry
        self.deadline_seconds = deadline_seconds
        self.sleep = sleep
        self.rng = rng
        self.ledger = ledger
        self.owner = owner
        self.clock = clock
        self.throttle = throttle or TypingThrottle()

    async def send(self, command: MarkRead) -> None:
        body = mark_read_body(command)
        channel = await self._channel(command.business_phone_number_id, command.tenant_id)
        if body is None or channel is None or command.message_wamid is None:
            metrics.MARK_READ.labels("skipped").inc()
            return
        key = receipt_key(command.tenant_id, command.message_wamid)
        attempt = await self._claim(key)
        if attempt is None:
            metrics.MARK_READ.labels("duplicate").inc()
            return
        ended = await self._call(channel, body, command.command_id)
        metrics.MARK_READ.labels(ended.outcome).inc()
        if ended.retry_later:
            now = self.clock()
            await self.ledger.record_retry(RetryMark(key=key, attempt=attempt, retry_at=now,
                                                     at=now, code=ended.code))

    async def show_typing(self, command: ShowTyping) -> None:
        channel = await self._channel(command.business_phone_number_id, command.tenant_id)
        if channel is None:
            metrics.TYPING.labels("skipped").inc()
            return
        if typing_stale(command.occurred_at, self.clock()):
            metrics.TYPING.labels("stale").inc()
            return
        # Spaced by the agents' clock (the command's time), not by when the records arrive.
        if self.throttle.take((command.tenant_id, command.conversation_id),
                              command.occurred_at) > 0:
            metrics.TYPING.labels("throttled").inc()
            return
        ended = await self._call(channel, typing_body(command), command.command_id,
                                 asked_at=command.occurred_at)
        metrics.TYPING.labels(ended.outcome).inc()
        if ended.outcome in ("sent", "unknown"):
            # The message is read at Meta now (or may be): no receipt for it later.
            now = self.clock()
            await self.ledger.claim(Claim(
                key=receipt_key(command.tenant_id, command.message_wamid), attempt=1,
                claim_id=uuid.uuid4().hex, owner=self.owner, at=now, lease_until=None))

    async def _channel(self, phone_number_id: str, tenant_id: str) -> Channel | None:
        channel = await self.channels.find(phone_number_id)
        return channel if channel is not None and channel.tenant_id == tenant_id else None

    async def _claim(self, key: str) -> int | None:
        """Claim the next attempt of a receipt; None when it is not ours to send. The claims
        hold no lease: nobody waits for a receipt."""
        attempt = 1
        while True:
            now = self.clock()
            if await self.ledger.claim(Claim(key=key, attempt=attempt,
                                             claim_id=uuid.uuid4().hex, owner=self.owner,
                                             at=now, lease_until=None)):
                return attempt
            following = receipt_attempt(assess(await self.ledger.view(key), now))
            if following is None or following <= attempt:
                return None
            attempt = following

    async def _call(self, channel: Channel, body: JsonObject, command_id: str,
                    asked_at: datetime | None = None) -> Ended:
        """Call until Meta accepts, refuses for good, or the retries run out; an indicator
        (``asked_at``) also stops when it became stale while waiting to retry."""
        pacer = self.pacers.for_channel(channel)
        attempt = 1
        while True:
            await pacer.acquire("reply")
            answer = await call_within(self.cloud, channel, body, self.deadline_seconds)
            if isinstance(answer, Accepted):
                return Ended("sent")
            if isinstance(answer, InDoubt):
                return Ended("unknown")
            rule, error = classify(answer)
            if rule.handling is Handling.FAIL or attempt >= self.retry.attempts_for(rule):
                log.warning("read receipt or typing indicator failed", extra={
                    "command_id": command_id, "code": error.code, "title": error.title,
                    "typing": asked_at is not None})
                return Ended("failed", retry_later=rule.handling is not Handling.FAIL,
                             code=error.code)
            retry_after = answer.retry_after_seconds if isinstance(answer, Rejected) else None
            delay = self.retry.delay(rule, attempt, retry_after, self.rng)
            if rule.throttle_number:
                pacer.penalize(delay)
            await self.sleep(delay)
            if asked_at is not None and typing_stale(asked_at, self.clock()):
                return Ended("stale")
            attempt += 1
