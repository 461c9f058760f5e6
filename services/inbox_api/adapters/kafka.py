"""Kafka: commands out on ``inbox.commands.v1``; conversation changes in from
``inbox.conversations.v1`` for the live stream.

The change feed is not a consumer-group member: every replica reads every partition (each serves
its own stream clients), from the end, and never commits. Its positions (offset per partition)
are the stream's event ids, so an id means the same on every replica.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from services.inbox_api.errors import Unavailable
from shared import tracing
from shared.config import InfraSettings
from shared.events import CONVERSATION_EVENTS, ConversationChanged
from shared.events.commands import Command
from shared.events.topics import INBOX_COMMANDS, INBOX_CONVERSATIONS
from shared.kafka import publish
from shared.producer import RecoveringProducer

log = logging.getLogger(__name__)

ChangeSink = Callable[[ConversationChanged, int, int], None]


class KafkaCommandPublisher:
    """Publishes a command keyed by its conversation and waits for the broker's ack."""

    def __init__(self, producer: RecoveringProducer, settings: InfraSettings,
                 timeout_seconds: float = 10.0) -> None:
        self._producer = producer
        self._topic = settings.topic(INBOX_COMMANDS)
        self._timeout = timeout_seconds

    async def publish(self, command: Command) -> None:
        try:
            with tracing.span("send.command", type=getattr(command, "type", None),
                              command_id=str(getattr(command, "command_id", "")) or None,
                              conversation_id=getattr(command, "conversation_id", None)):
                await asyncio.wait_for(publish(self._producer, self._topic, [command]),
                                       self._timeout)
        except (KafkaError, TimeoutError) as exc:
            raise Unavailable("The command could not be queued; try again.",
                              code="broker_unavailable") from exc

    async def is_ready(self) -> bool:
        return await self._producer.is_ready()


class ChangeFeed:
    """Reads ``inbox.conversations.v1`` from the end on all partitions, hands each change to
    ``sink(event, partition, offset)``."""

    def __init__(self, settings: InfraSettings) -> None:
        self._topic = settings.topic(INBOX_CONVERSATIONS)
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None,
            enable_auto_commit=False, auto_offset_reset="latest",
            isolation_level="read_committed")
        self._stopping = asyncio.Event()

    async def start(self, producer: RecoveringProducer) -> dict[int, int]:
        """Assign every partition at its end; returns the starting position per partition.
        (The producer knows the topic's partitions: a group-less consumer has no metadata.)"""
        partitions = await producer.partitions_for(self._topic)
        await self._consumer.start()
        if not partitions:
            raise RuntimeError(f"topic {self._topic} has no partitions (does it exist?)")
        tps = [TopicPartition(self._topic, p) for p in sorted(partitions)]
        self._consumer.assign(tps)
        ends = await self._consumer.end_offsets(tps)
        for tp in tps:
            self._consumer.seek(tp, ends[tp])
        return {tp.partition: ends[tp] for tp in tps}

    async def run(self, sink: ChangeSink,
                  on_error: Callable[[BaseException], Awaitable[None]] | None = None) -> None:
        while not self._stopping.is_set():
            try:
                polled = await self._consumer.getmany(timeout_ms=500, max_records=1000)
            except KafkaError as exc:
                log.warning("change feed poll failed; retrying", exc_info=True)
                if on_error is not None:
                    await on_error(exc)
                await asyncio.sleep(1.0)
                continue
            for tp, records in polled.items():
                for record in records:
                    try:
                        event = CONVERSATION_EVENTS.validate_json(record.value)
                    except ValueError:
                        log.warning("undecodable change skipped",
                                    extra={"partition": tp.partition, "offset": record.offset})
                        continue
                    sink(event, tp.partition, record.offset)

    def stop(self) -> None:
        self._stopping.set()

    async def close(self) -> None:
        await self._consumer.stop()
