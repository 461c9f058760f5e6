"""The one consumer loop every consumer service runs (:class:`BatchConsumer`).

It is the only place offsets are committed, and it commits a batch only after its handler
returned: delivery is at-least-once, so handlers must be idempotent.

Failure handling, by kind:
- a record that does not decode (schema-invalid): DLQ at once; the partition moves on;
- a handler error the service calls transient (database or broker unreachable): pause, back off,
  retry the batch, forever;
- any other handler error: retry the batch a few times, then the records one by one; those still
  failing go to the DLQ with the error.

A handler that finishes records after it returns (outbound_sender hands each record to a
per-conversation queue) passes a :class:`Progress`: the loop then commits what it says is finished
instead of the whole poll, also between polls, and lets it drain before the last commit.

Size: one loop; polling, pausing, retrying, dead-lettering and draining share its positions and
its paused state, and read best in one place.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import (
    KafkaError,
    MessageSizeTooLargeError,
    RecordTooLargeError,
)
from prometheus_client import Counter, Gauge, Histogram
from pydantic import TypeAdapter, ValidationError
from pymongo.errors import ConnectionFailure, ServerSelectionTimeoutError

from shared import tracing
from shared.backoff import backoff_delay
from shared.events.topics import dlq
from shared.producer import RecoveringProducer

log = logging.getLogger(__name__)

T = TypeVar("T")

RECORDS = Counter(
    "inbox_consumer_records_total", "Records consumed, by outcome", ["group", "topic", "outcome"]
)
BATCH_SIZE = Histogram(
    "inbox_consumer_batch_size",
    "Records per handled batch",
    ["group"],
    buckets=(1, 5, 10, 50, 100, 250, 500, 1000, 2000),
)
HANDLE_SECONDS = Histogram(
    "inbox_consumer_batch_seconds", "Time to handle one batch, commit included", ["group"]
)
LAG = Gauge(
    "inbox_consumer_lag", "Records behind the partition end", ["group", "topic", "partition"]
)
RETRIES = Counter("inbox_consumer_retries_total", "Batch retries after a handler error", ["group"])


def default_is_transient(exc: BaseException) -> bool:
    """Errors that mean "a dependency is unavailable": retry forever, never dead-letter.

    Any Kafka error met while handling a record is the broker's (a producer that could not
    publish a result or a notice), not the record's, except a record too big to ever publish."""
    if isinstance(exc, RecordTooLargeError | MessageSizeTooLargeError):
        return False
    return isinstance(
        exc,
        ConnectionFailure
        | ServerSelectionTimeoutError
        | KafkaError
        | TimeoutError
        | ConnectionError,
    )


@dataclass(frozen=True, slots=True)
class Received(Generic[T]):
    """A decoded record with where it came from."""

    event: T
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    # The producer's trace context (its traceparent header); None unless tracing is on.
    trace: Any = None

    @property
    def position(self) -> tuple[str, int, int]:
        return (self.topic, self.partition, self.offset)


class PoisonRecord(Exception):
    """Raised by a handler for a record that can never be processed: it goes to the DLQ."""


BatchHandler = Callable[[list[Received[T]]], Awaitable[None]]


class Progress(Protocol):
    """For handlers that finish records after they return: what may be committed."""

    def committable(self, polled: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
        """Given the next offsets of the latest poll (empty between polls), the positions to
        commit now: only partitions whose committable position changed."""

    async def drain(self) -> None:
        """On stop: finish or abandon the work in hand, before the last commit."""


class BatchConsumer(Generic[T]):
    """Poll, decode, handle a batch, commit; dead-letter what cannot be processed; stop cleanly."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        producer: RecoveringProducer,
        adapter: TypeAdapter[T],
        handler: BatchHandler[T],
        *,
        group: str,
        dlq_topic_for: Callable[[str], str] = dlq,
        is_transient: Callable[[BaseException], bool] = default_is_transient,
        max_records: int = 500,
        poll_timeout_ms: int = 200,
        attempts_before_bisect: int = 3,
        max_backoff_seconds: float = 5.0,
        progress: Progress | None = None,
    ) -> None:
        self.consumer = consumer
        self.producer = producer
        self.adapter = adapter
        self.handler = handler
        self.group = group
        self.dlq_topic_for = dlq_topic_for
        self.is_transient = is_transient
        self.max_records = max_records
        self.poll_timeout_ms = poll_timeout_ms
        self.attempts_before_bisect = attempts_before_bisect
        self.max_backoff_seconds = max_backoff_seconds
        self.progress = progress
        self._stopping = asyncio.Event()
        self.healthy = True  # False while retrying a dependency failure
        self.batches_handled = 0

    def stop(self) -> None:
        """Finish the batch in hand, commit it, and return from :meth:`run`."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def is_ready(self) -> bool:
        """Consuming and able to publish: not retrying a dependency outage, not stopping, and
        the producer (results, notices, dead letters) can publish now."""
        return self.healthy and not self.stopping and await self.producer.is_ready()

    async def run(self) -> None:
        failed_polls = 0
        while not self._stopping.is_set():
            try:
                polled = await self.consumer.getmany(
                    timeout_ms=self.poll_timeout_ms, max_records=self.max_records
                )
            except KafkaError as exc:
                # The broker went away mid-fetch: aiokafka reconnects by itself; poll again.
                failed_polls += 1
                self.healthy = False
                log.warning("poll failed; retrying",
                            extra={"group": self.group, "error": _short(exc)})
                await asyncio.sleep(self._backoff(failed_polls))
                continue
            if failed_polls:
                failed_polls = 0
                self.healthy = True
            if not polled:
                if self.progress is not None:
                    await self._commit(self.progress.committable({}))
                continue
            started = time.perf_counter()
            batch: list[Received[T]] = []
            ends: dict[TopicPartition, int] = {}
            for tp, records in polled.items():
                for record in records:
                    received = await self._decode(record)
                    if received is not None:
                        batch.append(received)
                    ends[tp] = record.offset + 1
            if batch:
                await self._handle(batch)
            await self._commit(ends if self.progress is None else self.progress.committable(ends))
            self._report(ends, batch, time.perf_counter() - started)
        if self.progress is not None:
            await self.progress.drain()
            await self._commit(self.progress.committable({}))

    async def _decode(self, record: Any) -> Received[T] | None:
        try:
            event = self.adapter.validate_json(record.value)
        except ValidationError as exc:
            await self._dead_letter(
                record.topic,
                record.partition,
                record.offset,
                record.key,
                record.value,
                f"invalid record: {_short(exc)}",
            )
            return None
        return Received(
            event, record.topic, record.partition, record.offset, record.key, record.value,
            tracing.extract(record.headers) if tracing.enabled() else None,
        )

    async def _handle(self, batch: list[Received[T]]) -> None:
        attempt = 0
        while True:
            try:
                await self.handler(batch)
                self.healthy = True
                return
            except PoisonRecord as exc:
                if len(batch) == 1:
                    await self._dead_letter_received(batch[0], str(exc))
                    return
                await self._one_by_one(batch)
                return
            except Exception as exc:
                attempt += 1
                RETRIES.labels(self.group).inc()
                if self.is_transient(exc):
                    self.healthy = False
                    log.warning(
                        "dependency unavailable; retrying batch",
                        extra={"group": self.group, "attempt": attempt, "error": _short(exc)},
                    )
                    await self._pause_for(self._backoff(attempt))
                    continue
                if attempt >= self.attempts_before_bisect:
                    if len(batch) == 1:
                        await self._dead_letter_received(batch[0], f"handler failed: {_short(exc)}")
                        return
                    await self._one_by_one(batch)
                    return
                log.warning(
                    "batch failed; retrying",
                    exc_info=True,
                    extra={"group": self.group, "attempt": attempt},
                )
                await self._pause_for(self._backoff(attempt))

    async def _one_by_one(self, batch: list[Received[T]]) -> None:
        for received in batch:
            await self._handle([received])

    def _backoff(self, attempt: int) -> float:
        return backoff_delay(attempt + 1, 0.1, self.max_backoff_seconds)

    async def _pause_for(self, seconds: float) -> None:
        # Keep polling (paused) so the group does not evict us while a dependency is down.
        assigned = list(self.consumer.assignment())
        self.consumer.pause(*assigned)
        try:
            deadline = time.monotonic() + seconds
            while (left := deadline - time.monotonic()) > 0 and not self._stopping.is_set():
                await self.consumer.getmany(timeout_ms=int(min(left, 0.5) * 1000) or 1)
        finally:
            self.consumer.resume(*[tp for tp in assigned if tp in self.consumer.assignment()])

    async def _commit(self, ends: dict[TopicPartition, int]) -> None:
        owned = {tp: off for tp, off in ends.items() if tp in self.consumer.assignment()}
        if not owned:
            return
        try:
            await self.consumer.commit(owned)
        except KafkaError:
            # A rebalance took the partitions: the new owner re-reads from the last commit.
            log.warning("offset commit failed; records will be redelivered", exc_info=True)

    async def dead_letter(self, received: Received[T], error: str) -> None:
        """Send a record to its DLQ with the error (for handlers that finish records later)."""
        await self._dead_letter_received(received, error)

    async def _dead_letter_received(self, received: Received[T], error: str) -> None:
        await self._dead_letter(
            received.topic, received.partition, received.offset, received.key, received.value, error
        )

    async def _dead_letter(
        self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes, error: str
    ) -> None:
        headers = [
            ("dlq-error", error[:2000].encode()),
            ("dlq-source", f"{topic}/{partition}/{offset}".encode()),
            ("dlq-group", self.group.encode()),
            ("dlq-at", datetime.now(UTC).isoformat().encode()),
        ]
        attempt = 0
        while True:
            try:
                await self.producer.send_and_wait(
                    self.dlq_topic_for(topic), value, key=key, headers=headers
                )
                break
            except KafkaError as exc:
                # The broker, not the record: keep the partition where it is until it answers.
                attempt += 1
                self.healthy = False
                log.warning("dead letter not published; retrying",
                            extra={"group": self.group, "attempt": attempt, "error": _short(exc)})
                await asyncio.sleep(self._backoff(attempt))
        RECORDS.labels(self.group, topic, "dead_lettered").inc()
        log.error(
            "record dead-lettered",
            extra={
                "group": self.group,
                "topic": topic,
                "partition": partition,
                "offset": offset,
                "error": error[:300],
            },
        )

    def _report(
        self, ends: dict[TopicPartition, int], batch: list[Received[T]], seconds: float
    ) -> None:
        self.batches_handled += 1
        BATCH_SIZE.labels(self.group).observe(len(batch))
        HANDLE_SECONDS.labels(self.group).observe(seconds)
        per_topic: dict[str, int] = {}
        for received in batch:
            per_topic[received.topic] = per_topic.get(received.topic, 0) + 1
        for topic, count in per_topic.items():
            RECORDS.labels(self.group, topic, "handled").inc(count)
        for tp, end in ends.items():
            highwater = self.consumer.highwater(tp)
            if highwater is not None:
                LAG.labels(self.group, tp.topic, str(tp.partition)).set(max(0, highwater - end))


def _short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 500 else text[:497] + "..."
