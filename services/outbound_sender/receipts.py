"""Read receipts (``MarkRead``): the blue ticks on the customer's phone.

Not in the send ledger and with no outbound result: a receipt sent twice is harmless, and one
lost is only a missing blue tick. It still takes a token of the number's bucket (every request
counts at Meta) and is retried like a send.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from services.outbound_sender import metrics
from services.outbound_sender.cloud import Accepted, CloudApi, InDoubt, Rejected, call_within
from services.outbound_sender.errors import classify
from services.outbound_sender.payloads import mark_read_body
from services.outbound_sender.ports import ChannelLookup
from services.outbound_sender.rate import Pacers
from services.outbound_sender.retry import RetryPolicy
from shared.cloud_errors import Handling
from shared.events import MarkRead

log = logging.getLogger(__name__)


class ReadReceipts:
    """Marks an inbound message read on WhatsApp."""

    def __init__(self, *, channels: ChannelLookup, cloud: CloudApi, pacers: Pacers,
                 retry: RetryPolicy, deadline_seconds: float,
                 sleep: Callable[[float], Awaitable[None]], rng: Callable[[], float]) -> None:
        self.channels = channels
        self.cloud = cloud
        self.pacers = pacers
        self.retry = retry
        self.deadline_seconds = deadline_seconds
        self.sleep = sleep
        self.rng = rng

    async def send(self, command: MarkRead) -> None:
        body = mark_read_body(command)
        channel = await self.channels.find(command.business_phone_number_id)
        if body is None or channel is None or channel.tenant_id != command.tenant_id:
            metrics.MARK_READ.labels("skipped").inc()
            return
        pacer = self.pacers.for_channel(channel)
        attempt = 1
        while True:
            await pacer.acquire("reply")
            answer = await call_within(self.cloud, channel, body, self.deadline_seconds)
            if isinstance(answer, Accepted | InDoubt):
                metrics.MARK_READ.labels(
                    "sent" if isinstance(answer, Accepted) else "unknown").inc()
                return
            rule, error = classify(answer)
            if rule.handling is Handling.FAIL or attempt >= self.retry.attempts_for(rule):
                metrics.MARK_READ.labels("failed").inc()
                log.warning("read receipt failed", extra={
                    "command_id": command.command_id, "code": error.code, "title": error.title})
                return
            retry_after = answer.retry_after_seconds if isinstance(answer, Rejected) else None
            delay = self.retry.delay(rule, attempt, retry_after, self.rng)
            if rule.throttle_number:
                pacer.penalize(delay)
            await self.sleep(delay)
            attempt += 1
