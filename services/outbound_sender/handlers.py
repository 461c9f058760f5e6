"""The consumer shell: records from ``inbox.commands.v1`` into per-conversation lanes.

BatchConsumer polls and decodes; :class:`CommandPipeline` is its handler (hand each send, read
receipt or typing indicator to its conversation's lane and return), its
:class:`~shared.consumer.Progress` (commit up to the first unfinished command of each partition;
pause the partitions while too many commands wait) and the rebalance listener (before giving
partitions away, let their calls in flight finish and commit what is finished).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

from services.outbound_sender import metrics
from services.outbound_sender.lanes import Lanes, OffsetTracker
from services.outbound_sender.service import RECEIPT_COMMANDS, SEND_COMMANDS, SendService
from shared import tracing
from shared.backoff import backoff_delay
from shared.consumer import Received, default_is_transient
from shared.events import InboxCommand
from shared.logging import bound

log = logging.getLogger(__name__)

LaneKey = tuple[TopicPartition, str]
DeadLetter = Callable[[Received[Any], str], Awaitable[None]]


class CommandPipeline(ConsumerRebalanceListener):  # type: ignore[misc]
    """Handler, progress and rebalance listener of the sender's consumer."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        service: SendService,
        *,
        max_buffered: int,
        drain_seconds: float,
        attempts_before_dead_letter: int = 3,
    ) -> None:
        self.consumer = consumer
        self.service = service
        self.max_buffered = max_buffered
        self.drain_seconds = drain_seconds
        self.attempts_before_dead_letter = attempts_before_dead_letter
        self.tracker: OffsetTracker[TopicPartition] = OffsetTracker()
        self.lanes: Lanes[LaneKey, Received[InboxCommand]] = Lanes(self._work, self._done)
        self.dead_letter: DeadLetter | None = None
        self.paused = False
        # False while a dependency (database, broker) fails: /readyz says so.
        self.healthy = True

    @property
    def buffered(self) -> int:
        return self.tracker.outstanding

    # --- BatchConsumer handler --------------------------------------------------------------

    async def __call__(self, batch: list[Received[InboxCommand]]) -> None:
        owned = self.consumer.assignment()
        for received in batch:
            tp = TopicPartition(received.topic, received.partition)
            command = received.event
            if tp not in owned or not isinstance(command, (*SEND_COMMANDS,
                                                           *RECEIPT_COMMANDS)):
                continue  # revoked meanwhile, or not a command the sender acts on
            self.tracker.add(tp, received.offset)
            self.lanes.submit((tp, command.conversation_id), received)
        self._backpressure()

    # --- Progress ---------------------------------------------------------------------------

    def committable(self, polled: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
        self._backpressure()
        return self.tracker.committable(polled)

    async def drain(self) -> None:
        await self.lanes.drain(timeout=self.drain_seconds)

    # --- rebalance listener -----------------------------------------------------------------

    async def on_partitions_revoked(self, revoked: Any) -> None:
        gone = set(revoked)
        if not gone:
            return
        await self.lanes.drain(lambda key: key[0] in gone, timeout=self.drain_seconds)
        # Every changed position (the tracker counts them as committed once returned); the
        # partitions are still ours until this callback returns.
        offsets = self.tracker.committable({})
        if offsets:
            try:
                await self.consumer.commit(offsets)
            except Exception:
                log.warning("commit on revoke failed; the next owner re-reads from the last "
                            "commit (the ledger makes that harmless)", exc_info=True)
        self.tracker.forget(gone)
        self.paused = False
        metrics.BUFFERED.set(self.buffered)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        log.info("partitions assigned", extra={"partitions": sorted(str(tp) for tp in assigned)})

    # --- lanes ------------------------------------------------------------------------------

    async def _work(self, received: Received[InboxCommand]) -> None:
        failures = 0
        transient = 0
        while True:
            try:
                event = received.event
                with tracing.span("send.process", [received.trace], type=event.type,
                                  command_id=str(getattr(event, "command_id", "")) or None), \
                        bound(event_id=str(event.event_id),
                              command_id=getattr(event, "command_id", None),
                              conversation_id=getattr(event, "conversation_id", None)):
                    await self.service.handle(event)
                self.healthy = True
                return
            except Exception as exc:
                if default_is_transient(exc):
                    transient += 1
                    self.healthy = False
                    metrics.DEPENDENCY_ERRORS.inc()
                    log.warning("dependency unavailable; retrying the command", extra=_context(
                        received, attempt=transient, error=f"{type(exc).__name__}: {exc}"))
                    await asyncio.sleep(_backoff(transient))
                    continue
                failures += 1
                if failures >= self.attempts_before_dead_letter and self.dead_letter is not None:
                    log.exception("command failed; dead-lettered", extra=_context(received))
                    await self.dead_letter(received, f"{type(exc).__name__}: {exc}")
                    return
                log.warning("command failed; retrying", exc_info=True,
                            extra=_context(received, attempt=failures))
                await asyncio.sleep(_backoff(failures))

    def _done(self, received: Received[InboxCommand]) -> None:
        self.tracker.finish(TopicPartition(received.topic, received.partition), received.offset)

    def _backpressure(self) -> None:
        buffered = self.buffered
        metrics.BUFFERED.set(buffered)
        assigned = list(self.consumer.assignment())
        if not self.paused and buffered >= self.max_buffered:
            self.consumer.pause(*assigned)
            self.paused = True
            log.info("pausing consumption: too many commands waiting",
                     extra={"buffered": buffered})
        elif self.paused and buffered <= self.max_buffered * 0.8:
            self.consumer.resume(*assigned)
            self.paused = False


def _backoff(attempt: int) -> float:
    return backoff_delay(attempt + 1, 0.2, 10.0)


def _context(received: Received[Any], **extra: Any) -> dict[str, Any]:
    event = received.event
    return {
        "topic": received.topic,
        "partition": received.partition,
        "offset": received.offset,
        "event_id": str(getattr(event, "event_id", "")),
        "command_id": getattr(event, "command_id", None),
        "conversation_id": getattr(event, "conversation_id", None),
        **extra,
    }
