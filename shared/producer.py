"""The one Kafka producer every service uses: idempotent, and able to replace itself.

aiokafka's idempotent producer gives up for good on some broker answers: after a broker restart
or a leader change it may get ``OutOfOrderSequenceNumber`` (or ``UnknownProducerId``, a fenced
epoch), its sender task ends, and every later send fails with the same error until the process
restarts (aio-libs/aiokafka#1017). :class:`RecoveringProducer` watches every outcome; on such an
error, or when its sends stay unanswered while a broker does answer, it drops the producer and
builds a new one (a new producer id), retrying with backoff until a broker accepts it.

What that means for callers:
- an acknowledged record stays acknowledged (acks=all); nothing acknowledged is touched;
- a send still waiting when the producer is replaced fails with :class:`ProducerUnavailable`
  (a ``KafkaError``): the caller retries it (webhook_ingest answers 503 so Meta re-sends; a
  consumer retries its batch), so a record may be written twice, never lost; consumers are
  idempotent;
- sends fail fast with :class:`ProducerUnavailable` while no producer is built.

:meth:`RecoveringProducer.is_ready` is the truthful readiness every service reports: built, no
send waiting longer than a few seconds, and a broker that answers.

Size: one class, one state machine (a producer, its replacement and the sends waiting on it);
splitting it would spread one lock's invariants over several files.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import (
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    KafkaError,
    OutOfOrderSequenceNumber,
    ProducerClosed,
    ProducerFenced,
    UnknownProducerId,
)
from aiokafka.structs import RecordMetadata
from prometheus_client import Counter, Gauge

from shared import tracing
from shared.backoff import Backoff

log = logging.getLogger(__name__)

REBUILDS = Counter(
    "inbox_kafka_producer_rebuilds_total",
    "Producers replaced after a fatal error or a stall, by reason",
    ["reason"],
)
PENDING = Gauge("inbox_kafka_producer_pending", "Records handed to the producer, not yet answered")

# Broker answers after which aiokafka's idempotent producer never sends again.
FATAL_ERRORS: tuple[type[BaseException], ...] = (
    OutOfOrderSequenceNumber,
    UnknownProducerId,
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    ProducerFenced,
    ProducerClosed,
)


class ProducerUnavailable(KafkaError):  # type: ignore[misc]
    """No producer can take the record now (being replaced, or replaced while it waited)."""

    retriable = True


async def broker_answers(client: AIOKafkaClient, timeout_seconds: float = 1.0) -> bool:
    """True while at least one broker of the cluster accepts a connection (one copy of the
    broker-reachability check; used by readiness)."""
    for broker in list(client.cluster.brokers()):
        try:
            if await asyncio.wait_for(client.ready(broker.nodeId), timeout_seconds):
                return True
        except (TimeoutError, KafkaError, OSError):
            continue
    return False


class RecoveringProducer:
    """An ``AIOKafkaProducer`` (built by ``factory``) that is replaced when it can no longer send.

    Offers the part of aiokafka's producer API the services use: ``start``, ``stop``, ``send``
    (returns a future), ``send_and_wait``, ``partitions_for``, ``flush`` and ``client``.
    """

    def __init__(
        self,
        factory: Callable[[], AIOKafkaProducer],
        *,
        stall_seconds: float = 30.0,
        ready_stall_seconds: float = 5.0,
        watch_interval_seconds: float = 1.0,
        stop_timeout_seconds: float = 5.0,
    ) -> None:
        self._factory = factory
        # A send unanswered this long while a broker answers: the producer is wedged, replace it.
        self._stall_seconds = stall_seconds
        # A send unanswered this long: not ready (it cannot publish now).
        self._ready_stall_seconds = ready_stall_seconds
        self._watch_interval = watch_interval_seconds
        self._stop_timeout = stop_timeout_seconds
        self._inner: AIOKafkaProducer | None = None
        # Each waiting send: the future handed to the caller -> (producer it went to, since when).
        self._pending: dict[asyncio.Future[RecordMetadata], tuple[AIOKafkaProducer, float]] = {}
        self._rebuilding: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._retiring: set[asyncio.Task[None]] = set()
        self._stopped = False
        self.rebuilds = 0

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the first producer (raises like aiokafka's when no broker answers)."""
        producer = self._factory()
        try:
            await producer.start()
        except BaseException:
            with contextlib.suppress(Exception):
                await producer.stop()
            raise
        self._inner = producer
        self._watcher = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        """Flush and stop (what is still waiting gets the stop timeout to be answered)."""
        self._stopped = True
        for task in (self._watcher, self._rebuilding):
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        inner, self._inner = self._inner, None
        if inner is not None:
            await self._retire(inner)
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)
        self._fail_pending(None, "the producer stopped")

    # --- the producer API ----------------------------------------------------------------------

    @property
    def client(self) -> AIOKafkaClient:
        inner = self._current()
        client: AIOKafkaClient = inner.client
        return client

    async def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> asyncio.Future[RecordMetadata]:
        """Hand one record to the producer; the future resolves when the broker acknowledged it
        (or fails, with :class:`ProducerUnavailable` when the producer was replaced meanwhile)."""
        inner = self._current()
        if tracing.enabled():  # one global check per record when tracing is off
            headers = tracing.inject(headers)
        try:
            acked = await inner.send(topic, value, key=key, partition=partition,
                                     timestamp_ms=timestamp_ms, headers=headers)
        except KafkaError as exc:
            self._on_failure(inner, exc)
            raise
        answer: asyncio.Future[RecordMetadata] = asyncio.get_running_loop().create_future()
        self._pending[answer] = (inner, time.monotonic())
        PENDING.inc()
        acked.add_done_callback(lambda done: self._settle(inner, answer, done))
        return answer

    async def send_and_wait(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> RecordMetadata:
        answer = await self.send(topic, value, key=key, partition=partition,
                                 timestamp_ms=timestamp_ms, headers=headers)
        return await answer

    async def partitions_for(self, topic: str) -> set[int]:
        inner = self._current()
        try:
            partitions: set[int] = await inner.partitions_for(topic)
        except KafkaError as exc:
            self._on_failure(inner, exc)
            raise
        return partitions

    async def flush(self) -> None:
        await self._current().flush()

    async def is_ready(self) -> bool:
        """Can it publish now: built, nothing waiting for long, and a broker answers."""
        inner = self._inner
        if inner is None or self._stopped or _sender_died(inner):
            return False
        if self.oldest_wait() > self._ready_stall_seconds:
            return False
        return await broker_answers(inner.client)

    def stopped(self) -> bool:
        return self._stopped

    def oldest_wait(self) -> float:
        """Seconds the oldest unanswered send has waited (0 when none waits)."""
        if not self._pending:
            return 0.0
        oldest = min(since for _, since in self._pending.values())
        return time.monotonic() - oldest

    # --- recovery ------------------------------------------------------------------------------

    def _current(self) -> AIOKafkaProducer:
        inner = self._inner
        if inner is None or self._stopped:
            raise ProducerUnavailable("the Kafka producer is being replaced; retry")
        if _sender_died(inner):
            self._replace(inner, "sender stopped")
            raise ProducerUnavailable("the Kafka producer stopped sending; it is being replaced")
        return inner

    def _settle(self, inner: AIOKafkaProducer, answer: asyncio.Future[RecordMetadata],
                acked: asyncio.Future[RecordMetadata]) -> None:
        if self._pending.pop(answer, None) is not None:
            PENDING.dec()
        if answer.done():  # failed already, when its producer was replaced
            return
        if acked.cancelled():
            answer.set_exception(ProducerUnavailable("the send was cancelled"))
            return
        error = acked.exception()
        if error is None:
            answer.set_result(acked.result())
            return
        self._on_failure(inner, error)
        _fail(answer, error)

    def _on_failure(self, inner: AIOKafkaProducer, error: BaseException) -> None:
        if isinstance(error, FATAL_ERRORS) or _sender_died(inner):
            self._replace(inner, type(error).__name__)

    def _replace(self, broken: AIOKafkaProducer, reason: str) -> None:
        """Drop ``broken`` (if still current) and build a new producer in the background."""
        if self._stopped or self._inner is not broken:
            return
        log.warning("Kafka producer cannot send any more; replacing it",
                    extra={"reason": reason, "waiting": len(self._pending)})
        REBUILDS.labels(reason).inc()
        self._inner = None
        self._fail_pending(broken, f"the Kafka producer was replaced ({reason})")
        task = asyncio.create_task(self._retire(broken))
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)
        self._rebuilding = asyncio.create_task(self._rebuild())

    def _fail_pending(self, producer: AIOKafkaProducer | None, why: str) -> None:
        for answer, (owner, _) in list(self._pending.items()):
            if producer is None or owner is producer:
                del self._pending[answer]
                PENDING.dec()
                if not answer.done():
                    _fail(answer, ProducerUnavailable(why))

    async def _retire(self, producer: AIOKafkaProducer) -> None:
        try:
            await asyncio.wait_for(producer.stop(), self._stop_timeout)
        except Exception:  # a dead producer may fail to stop cleanly; it is dropped anyway
            log.debug("retired producer did not stop cleanly", exc_info=True)

    async def _rebuild(self) -> None:
        backoff = Backoff(base_seconds=0.2, max_seconds=5.0)
        while not self._stopped:
            producer = self._factory()
            try:
                await producer.start()
            except Exception as exc:
                with contextlib.suppress(Exception):
                    await producer.stop()
                delay = backoff.next()
                log.warning("Kafka producer not rebuilt yet; retrying",
                            extra={"error": f"{type(exc).__name__}: {exc}", "retry_in": delay})
                await asyncio.sleep(delay)
                continue
            if self.stopped():  # stop() ran while this one started
                await self._retire(producer)
                return
            self._inner = producer
            self.rebuilds += 1
            log.info("Kafka producer replaced", extra={"rebuilds": self.rebuilds})
            return

    async def _watch(self) -> None:
        """Replace a producer whose sends stay unanswered while a broker answers (wedged)."""
        while not self._stopped:
            await asyncio.sleep(self._watch_interval)
            inner = self._inner
            if inner is None:
                continue
            if _sender_died(inner):
                self._replace(inner, "sender stopped")
            elif self.oldest_wait() > self._stall_seconds and await broker_answers(inner.client):
                self._replace(inner, "stalled")


def _fail(answer: asyncio.Future[RecordMetadata], error: BaseException) -> None:
    """Fail a send; a caller that stopped waiting (it timed out) is not a stray-error log."""
    answer.set_exception(error)
    answer.exception()  # marks it retrieved; awaiting it still raises


def _sender_died(producer: AIOKafkaProducer) -> bool:
    """aiokafka's sender task ended: the producer will never send again."""
    sender = getattr(producer, "_sender", None)
    task: asyncio.Task[Any] | None = getattr(sender, "sender_task", None)
    return task is not None and task.done()
