"""The real broker: ordering per key, at-least-once redelivery, the consumer loop and its DLQ."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from pydantic import TypeAdapter

from shared.consumer import BatchConsumer, PoisonRecord, Received
from shared.events import SetConversationStatus
from shared.events.topics import INBOX_COMMANDS, dlq
from shared.kafka import make_consumer, publish
from tests.integration.kafka_tools import read_topic

pytestmark = pytest.mark.integration

STATUS = TypeAdapter(SetConversationStatus)


def _event(conversation: str, n: int) -> SetConversationStatus:
    return SetConversationStatus(
        occurred_at=datetime.now(UTC),
        tenant_id="acme",
        conversation_id=conversation,
        command_id=f"{conversation}-{n}",
        status="open" if n % 2 else "resolved",
    )


async def _drain(consumer: AIOKafkaConsumer, want: int, timeout: float = 20) -> list[Any]:
    records: list[Any] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while len(records) < want and asyncio.get_running_loop().time() < deadline:
        for part in (await consumer.getmany(timeout_ms=300)).values():
            records.extend(part)
    return records


async def test_records_of_one_key_come_back_in_order_on_one_partition(settings, producer):
    conversations = [f"pn1:1650555{i:04d}" for i in range(8)]
    events = [_event(c, n) for n in range(25) for c in conversations]
    await publish(producer, settings.topic(INBOX_COMMANDS), events)

    records = await read_topic(settings, INBOX_COMMANDS, min_records=len(events))

    assert len(records) == len(events)
    partitions_by_key: dict[bytes, set[int]] = {}
    seen_by_key: dict[bytes, list[str]] = {}
    for record in records:
        partitions_by_key.setdefault(record.key, set()).add(record.partition)
        seen_by_key.setdefault(record.key, []).append(STATUS.validate_json(record.value).command_id)
    assert all(len(p) == 1 for p in partitions_by_key.values())
    for conversation in conversations:
        assert seen_by_key[conversation.encode()] == [f"{conversation}-{n}" for n in range(25)]


async def test_uncommitted_records_are_redelivered_and_committed_ones_are_not(settings, producer):
    await publish(producer, settings.topic(INBOX_COMMANDS), [_event("pn1:1", n) for n in range(5)])
    group = "g-" + settings.topic_prefix

    first = make_consumer(settings, group, [INBOX_COMMANDS])
    await first.start()
    got = await _drain(first, 5)
    await first.stop()  # no commit: as if it crashed after processing
    assert len(got) == 5

    second = make_consumer(settings, group, [INBOX_COMMANDS])
    await second.start()
    again = await _drain(second, 5)
    assert [r.offset for r in again] == [r.offset for r in got]
    await second.commit()
    await second.stop()

    await publish(producer, settings.topic(INBOX_COMMANDS), [_event("pn1:1", 99)])
    third = make_consumer(settings, group, [INBOX_COMMANDS])
    await third.start()
    after_commit = await _drain(third, 1)
    await third.stop()
    assert [STATUS.validate_json(r.value).command_id for r in after_commit] == ["pn1:1-99"]


async def test_batch_consumer_dead_letters_invalid_and_poison_records_and_commits(
    settings, producer
):
    topic = settings.topic(INBOX_COMMANDS)
    await publish(producer, topic, [_event("pn1:2", 1)])
    await producer.send_and_wait(topic, b"{not json", key=b"pn1:2")
    await publish(producer, topic, [_event("pn1:2", 2), _event("pn1:2", 3)])

    handled: list[str] = []

    async def handler(batch: list[Received[SetConversationStatus]]) -> None:
        for received in batch:
            if received.event.command_id.endswith("-2"):
                raise PoisonRecord("command 2 can never be applied")
        handled.extend(r.event.command_id for r in batch)

    group = "loop-" + settings.topic_prefix
    consumer = make_consumer(settings, group, [INBOX_COMMANDS])
    await consumer.start()
    loop = BatchConsumer(
        consumer, producer, STATUS, handler, group=group, dlq_topic_for=lambda t: dlq(t)
    )
    task = asyncio.create_task(loop.run())
    try:
        for _ in range(100):
            if {"pn1:2-1", "pn1:2-3"} <= set(handled):
                break
            await asyncio.sleep(0.1)
    finally:
        loop.stop()
        await task
        await consumer.stop()

    assert "pn1:2-2" not in handled
    assert {"pn1:2-1", "pn1:2-3"} <= set(handled)
    dead = await read_topic(settings, dlq(INBOX_COMMANDS), min_records=2)
    errors = sorted(dict(r.headers)["dlq-error"].decode() for r in dead)
    assert len(dead) == 2
    assert errors[0].startswith("command 2 can never be applied")
    assert errors[1].startswith("invalid record")

    # Everything was committed: a new member of the group gets nothing more.
    again = make_consumer(settings, group, [INBOX_COMMANDS])
    await again.start()
    assert await _drain(again, 1, timeout=3) == []
    await again.stop()


async def test_batch_consumer_retries_transient_errors_without_losing_the_batch(settings, producer):
    topic = settings.topic(INBOX_COMMANDS)
    await publish(producer, topic, [_event("pn1:3", n) for n in range(3)])
    failures = {"left": 3}
    handled: list[str] = []

    async def flaky(batch: list[Received[SetConversationStatus]]) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("database unreachable")
        handled.extend(r.event.command_id for r in batch)

    group = "flaky-" + settings.topic_prefix
    consumer = make_consumer(settings, group, [INBOX_COMMANDS])
    await consumer.start()
    loop = BatchConsumer(consumer, producer, STATUS, flaky, group=group, max_backoff_seconds=0.2)
    task = asyncio.create_task(loop.run())
    for _ in range(100):
        if len(handled) >= 3:
            break
        await asyncio.sleep(0.1)
    loop.stop()
    await task
    await consumer.stop()

    assert sorted(handled) == [f"pn1:3-{n}" for n in range(3)]
    assert failures["left"] == 0
    assert await read_topic(settings, dlq(INBOX_COMMANDS), min_records=1, timeout=1) == []
