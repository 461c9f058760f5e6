"""Kafka side of the store: one consumer group over three co-partitioned topics, and the notices.

A conversation's records carry its id as key on all three topics, so with equal partition counts
they land on the same partition number of each; the range assignor then gives those partitions to
the same member. One member folds a conversation at a time: that is what makes the store's
read-fold-write safe without transactions. A rebalance waits for the batch in hand
(:class:`OwnershipGuard`), so the next owner never starts while the last one still writes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor

from services.conversation_store.handlers import StoreHandler
from shared.config import ConfigError, InfraSettings
from shared.events import ConversationChanged
from shared.events.base import Event
from shared.events.topics import (
    INBOX_COMMANDS,
    INBOX_CONVERSATIONS,
    INBOX_OUTBOUND,
    WHATSAPP_INBOUND,
)
from shared.kafka import Received, make_consumer, publish
from shared.producer import RecoveringProducer

log = logging.getLogger(__name__)

# Position sources: short names stored in each conversation's fold positions.
SOURCES: dict[str, str] = {WHATSAPP_INBOUND: "in", INBOX_OUTBOUND: "out", INBOX_COMMANDS: "cmd"}


def source_names(settings: InfraSettings) -> dict[str, str]:
    """Real (prefixed) topic name -> position source."""
    return {settings.topic(topic): source for topic, source in SOURCES.items()}


def make_store_consumer(
    settings: InfraSettings, group_id: str, max_records: int
) -> AIOKafkaConsumer:
    return make_consumer(
        settings, group_id, [],
        partition_assignment_strategy=(RangePartitionAssignor,),
        max_poll_records=max_records,
    )


async def check_copartitioned(producer: RecoveringProducer, topics: Sequence[str]) -> None:
    """Refuse to run when the input topics differ in partition count (no single owner then)."""
    counts = {topic: len(await producer.partitions_for(topic)) for topic in topics}
    if len(set(counts.values())) != 1 or 0 in counts.values():
        raise ConfigError(
            "conversation_store needs its input topics to exist with equal partition counts "
            f"(a conversation must map to one partition number on each): {counts}"
        )


class OwnershipGuard(ConsumerRebalanceListener):  # type: ignore[misc]
    """Holds a rebalance until the batch in hand is written, and drops records of partitions
    this member no longer owns (their next owner re-reads them from the last commit)."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        handler: StoreHandler,
        on_rebalance: Callable[[], None] = lambda: None,
    ) -> None:
        self.consumer = consumer
        self.handler = handler
        # Drops what this member cached about conversations it may no longer own.
        self.on_rebalance = on_rebalance
        self.lock = asyncio.Lock()

    async def handle(self, batch: list[Received[Event]]) -> None:
        async with self.lock:
            owned = self.consumer.assignment()
            mine = [r for r in batch if TopicPartition(r.topic, r.partition) in owned]
            if len(mine) < len(batch):
                log.warning("partitions revoked mid-batch; leaving their records to the new owner",
                            extra={"dropped": len(batch) - len(mine)})
            if mine:
                await self.handler(mine)

    async def on_partitions_revoked(self, revoked: Any) -> None:
        async with self.lock:
            self.on_rebalance()

    async def on_partitions_assigned(self, assigned: Any) -> None:
        async with self.lock:
            self.on_rebalance()
        log.info("partitions assigned", extra={"partitions": sorted(str(tp) for tp in assigned)})


class KafkaNoticePublisher:
    """Publishes ConversationChanged to inbox.conversations.v1, keyed by conversation."""

    def __init__(self, producer: RecoveringProducer, settings: InfraSettings) -> None:
        self.producer = producer
        self.topic = settings.topic(INBOX_CONVERSATIONS)

    async def publish(self, notices: Sequence[ConversationChanged]) -> None:
        if notices:
            await publish(self.producer, self.topic, notices)
