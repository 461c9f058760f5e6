"""RecoveringProducer: it replaces an aiokafka producer that gave up, and says when it is ready."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotLeaderForPartitionError,
    OutOfOrderSequenceNumber,
    RecordTooLargeError,
    UnknownProducerId,
)

from shared.consumer import default_is_transient
from shared.producer import ProducerUnavailable, RecoveringProducer


class FakeBroker:
    def __init__(self, node_id: int) -> None:
        self.nodeId = node_id


class FakeClient:
    def __init__(self, cluster: FakeCluster) -> None:
        self.cluster = cluster

    async def ready(self, node_id: int) -> bool:
        return self.cluster.up


class FakeCluster:
    def __init__(self) -> None:
        self.up = True

    def brokers(self) -> list[FakeBroker]:
        return [FakeBroker(1)]


class FakeSender:
    def __init__(self) -> None:
        self.sender_task: asyncio.Future[None] = asyncio.get_running_loop().create_future()


class FakeAioProducer:
    """What RecoveringProducer uses of AIOKafkaProducer; the test answers each send."""

    def __init__(self, cluster: FakeCluster, number: int, start_error: Exception | None) -> None:
        self.number = number
        self.client = FakeClient(cluster)
        self._sender = FakeSender()
        self.start_error = start_error
        self.started = False
        self.stopped = False
        self.sent: list[tuple[str, bytes | None, asyncio.Future[Any]]] = []

    async def start(self) -> None:
        if self.start_error is not None:
            raise self.start_error
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def send(self, topic: str, value: bytes | None, **_: Any) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.sent.append((topic, value, future))
        return future

    async def partitions_for(self, topic: str) -> set[int]:
        return {0, 1, 2}

    async def flush(self) -> None:
        pass

    def die(self, error: Exception) -> None:
        """aiokafka's sender task ends with ``error`` and fails every waiting batch."""
        self._sender.sender_task.set_exception(error)
        self._sender.sender_task.exception()
        for _, _, future in self.sent:
            if not future.done():
                future.set_exception(error)


class Factory:
    def __init__(self) -> None:
        self.cluster = FakeCluster()
        self.built: list[FakeAioProducer] = []
        self.start_errors: list[Exception] = []

    def __call__(self) -> Any:
        error = self.start_errors.pop(0) if self.start_errors else None
        producer = FakeAioProducer(self.cluster, len(self.built), error)
        self.built.append(producer)
        return producer

    @property
    def current(self) -> FakeAioProducer:
        return self.built[-1]


async def started(factory: Factory, **options: Any) -> RecoveringProducer:
    options.setdefault("watch_interval_seconds", 0.01)
    producer = RecoveringProducer(factory, **options)
    await producer.start()
    return producer


async def until(condition: Any, timeout: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


async def test_an_acknowledged_send_resolves_with_the_brokers_answer():
    factory = Factory()
    producer = await started(factory)
    answer = await producer.send("t", b"v")
    factory.current.sent[0][2].set_result("metadata")
    assert await answer == "metadata"
    assert producer.rebuilds == 0
    await producer.stop()


async def test_a_retriable_error_fails_the_send_but_keeps_the_producer():
    factory = Factory()
    producer = await started(factory)
    answer = await producer.send("t", b"v")
    factory.current.sent[0][2].set_exception(NotLeaderForPartitionError())
    with pytest.raises(NotLeaderForPartitionError):
        await answer
    await asyncio.sleep(0.05)
    assert len(factory.built) == 1
    await producer.stop()


@pytest.mark.parametrize("fatal", [OutOfOrderSequenceNumber, UnknownProducerId])
async def test_a_fatal_answer_replaces_the_producer_and_the_next_send_goes_to_the_new_one(fatal):
    factory = Factory()
    producer = await started(factory)
    first = await producer.send("t", b"1")
    waiting = await producer.send("t", b"2")
    first_inner = factory.current
    first_inner.sent[0][2].set_exception(fatal())
    with pytest.raises(fatal):
        await first
    # The other record still waiting on the dead producer fails: its caller retries it.
    with pytest.raises(ProducerUnavailable):
        await waiting
    await until(lambda: producer.rebuilds == 1)
    await until(lambda: first_inner.stopped)
    answer = await producer.send("t", b"3")
    assert factory.current is not first_inner
    assert factory.current.sent[0][1] == b"3"
    factory.current.sent[0][2].set_result("ok")
    assert await answer == "ok"
    await producer.stop()


async def test_a_dead_sender_task_is_noticed_on_the_next_send():
    factory = Factory()
    producer = await started(factory, watch_interval_seconds=60)  # only the send path notices
    dead = factory.current
    dead.die(OutOfOrderSequenceNumber())
    with pytest.raises(ProducerUnavailable):
        await producer.send("t", b"v")
    await until(lambda: producer.rebuilds == 1)
    assert factory.current is not dead
    await producer.stop()


async def test_the_watcher_replaces_a_producer_whose_sender_died_without_traffic():
    factory = Factory()
    producer = await started(factory)
    factory.current.die(OutOfOrderSequenceNumber())
    await until(lambda: producer.rebuilds == 1)
    assert await producer.is_ready()
    await producer.stop()


async def test_rebuilding_retries_until_a_broker_accepts_the_new_producer():
    factory = Factory()
    producer = await started(factory)
    factory.start_errors = [KafkaConnectionError(), KafkaConnectionError()]
    factory.current.die(OutOfOrderSequenceNumber())
    await until(lambda: len(factory.built) >= 2)
    assert not await producer.is_ready()
    with pytest.raises(ProducerUnavailable):
        await producer.send("t", b"v")
    await until(lambda: producer.rebuilds == 1, timeout=5.0)
    assert len(factory.built) == 4  # the first, two refused, the one that started
    assert await producer.is_ready()
    await producer.stop()


async def test_not_ready_while_a_send_waits_too_long_or_no_broker_answers():
    factory = Factory()
    producer = await started(factory, ready_stall_seconds=0.05, stall_seconds=60)
    assert await producer.is_ready()
    answer = await producer.send("t", b"v")
    await asyncio.sleep(0.1)
    assert not await producer.is_ready()  # a send unanswered beyond the bound: cannot publish
    factory.current.sent[0][2].set_result("ok")
    await answer
    assert await producer.is_ready()
    factory.cluster.up = False
    assert not await producer.is_ready()
    factory.cluster.up = True
    assert await producer.is_ready()
    await producer.stop()


async def test_a_stalled_producer_is_replaced_only_while_a_broker_answers():
    factory = Factory()
    producer = await started(factory, stall_seconds=0.05)
    factory.cluster.up = False
    answer = await producer.send("t", b"v")
    await asyncio.sleep(0.2)
    assert producer.rebuilds == 0  # the broker is away: waiting is right, a new producer no help
    factory.cluster.up = True
    await until(lambda: producer.rebuilds == 1)
    with pytest.raises(ProducerUnavailable):
        await answer
    await producer.stop()


async def test_stop_fails_what_still_waits_and_refuses_new_sends():
    factory = Factory()
    producer = await started(factory)
    answer = await producer.send("t", b"v")
    await producer.stop()
    with pytest.raises(ProducerUnavailable):
        await answer
    with pytest.raises(ProducerUnavailable):
        await producer.send("t", b"w")
    assert factory.current.stopped


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (OutOfOrderSequenceNumber(), True),  # the producer gave up: replaced, then retried
        (ProducerUnavailable("replacing"), True),
        (KafkaTimeoutError(), True),  # no acknowledgement in time: the broker is away
        (KafkaConnectionError(), True),
        (NotLeaderForPartitionError(), True),
        (RecordTooLargeError(), False),  # the record itself can never be published
        (MessageSizeTooLargeError(), False),
        (ValueError("a bug or a bad record"), False),
    ],
)
def test_a_consumers_producer_errors_are_a_dependency_outage_not_a_poison_record(
        error, transient):
    assert default_is_transient(error) is transient
