"""Kafka side of the store: one consumer group over three co-partitioned topics, and the notices.

A conversation's records carry its id as key on all three topics, so with equal partition counts
they land on the same partition number of each; the range assignor then gives those partitions to
the same member. One member folds a conversation at a time: that is what makes the store's
read-fold-write safe without transactions. The guard that keeps it so while partitions move is
the store's own (ownership.py); this module only tells it what the consumer owns
(:class:`KafkaAssignment`) and when a rebalance starts and ends (:class:`RebalanceListener`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from aiokafka.coordinator.assignors.range import RangePartitionAssignor

from services.conversation_store.ports import Rebalancing
from services.conversation_store.thread import Outgoing
from shared.config import ConfigError, InfraSettings
from shared.events import ConversationChanged
from shared.events.base import Event
from shared.events.topics import (
    INBOX_COMMANDS,
    INBOX_CONVERSATIONS,
    INBOX_OUTBOUND,
    WHATSAPP_INBOUND,
)
from shared.kafka import make_consumer, publish
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


class KafkaAssignment:
    """The consumer's current assignment, as the ownership guard asks for it."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self.consumer = consumer

    def owned(self) -> set[tuple[str, int]]:
        return {(tp.topic, tp.partition) for tp in self.consumer.assignment()}


class RebalanceListener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Tells the store about every rebalance, revoked or assigned (aiokafka rebalances eagerly:
    every partition is revoked before any is assigned); the rebalance waits until it returns."""

    def __init__(self, store: Rebalancing) -> None:
        self.store = store

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self.store.rebalance()

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self.store.rebalance()
        log.info("partitions assigned", extra={"partitions": sorted(str(tp) for tp in assigned)})


class KafkaForwarder:
    """Publishes what the fold hands to other conversations (merge.py): each event keyed by its
    conversation, on the topic it came from (the hand-over on whatsapp.inbound.v1), so it lands
    on the partition of the conversation's owner, after what is already there."""

    def __init__(self, producer: RecoveringProducer, settings: InfraSettings) -> None:
        self.producer = producer
        self.topics = {source: settings.topic(topic) for topic, source in SOURCES.items()}

    async def forward(self, outgoing: Sequence[Outgoing]) -> None:
        by_topic: dict[str, list[Event]] = {}
        for item in outgoing:
            by_topic.setdefault(self.topics[item.source], []).append(item.event)
        for topic, events in by_topic.items():
            await publish(self.producer, topic, events)


class KafkaNoticePublisher:
    """Publishes ConversationChanged to inbox.conversations.v1, keyed by conversation."""

    def __init__(self, producer: RecoveringProducer, settings: InfraSettings) -> None:
        self.producer = producer
        self.topic = settings.topic(INBOX_CONVERSATIONS)

    async def publish(self, notices: Sequence[ConversationChanged]) -> None:
        if notices:
            await publish(self.producer, self.topic, notices)
