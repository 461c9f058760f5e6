"""Kafka side of the sender: its consumer, the result publisher, and the store catch-up check.

The catch-up check is the window race guarantee. webhook_ingest answers Meta only after Kafka
acknowledged the customer's message, and conversation_store commits its offsets only after its
MongoDB write. So "conversation_store's committed offset on the conversation's partition of
whatsapp.inbound.v1 has reached that partition's end offset as read now" means every customer
message acknowledged to Meta before now is in the conversation document.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from shared.config import InfraSettings
from shared.events.topics import INBOX_COMMANDS, WHATSAPP_INBOUND
from shared.kafka import make_consumer
from shared.partitioning import partition_of
from shared.producer import RecoveringProducer

log = logging.getLogger(__name__)
T = TypeVar("T")


def make_sender_consumer(settings: InfraSettings, group_id: str,
                         max_records: int) -> AIOKafkaConsumer:
    """The sender's group member (subscribed later, with the rebalance listener)."""
    return make_consumer(settings, group_id, [], max_poll_records=max_records)


def command_topics(settings: InfraSettings) -> list[str]:
    return [settings.topic(INBOX_COMMANDS)]


class KafkaResultPublisher:
    """Publishes outbound results to ``inbox.outbound.v1``, keyed by conversation."""

    def __init__(self, producer: RecoveringProducer, topic: str) -> None:
        self.producer = producer
        self.topic = topic

    async def publish(self, key: bytes, value: bytes) -> None:
        delivery = await self.producer.send(self.topic, value, key=key)
        await delivery


class KafkaInboundCatchUp:
    """Waits until conversation_store has folded everything Kafka holds for a conversation."""

    def __init__(self, settings: InfraSettings, producer: RecoveringProducer, store_group_id: str,
                 poll_seconds: float = 0.05) -> None:
        self.settings = settings
        self.producer = producer
        self.store_group_id = store_group_id
        self.poll_seconds = poll_seconds
        self.topic = settings.topic(WHATSAPP_INBOUND)
        self._admin: AIOKafkaAdminClient | None = None
        self._offsets: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        self._admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap_servers)
        await self._admin.start()
        # No group: only asks for end offsets. Read-committed like the store's consumer.
        self._offsets = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers, enable_auto_commit=False,
            isolation_level="read_committed")
        await self._offsets.start()

    async def close(self) -> None:
        if self._offsets is not None:
            await self._offsets.stop()
        if self._admin is not None:
            await self._admin.close()

    async def wait(self, conversation_id: str, timeout: float) -> bool:
        try:
            async with asyncio.timeout(timeout):
                tp = await self._retrying(lambda: self._partition(conversation_id))
                end = await self._retrying(lambda: self._end_offset(tp))
                start: int | None = None
                while True:
                    committed = await self._retrying(lambda: self._committed(tp))
                    if committed < 0:
                        # The store never committed here: it starts from the log's beginning,
                        # so an empty partition (or one emptied by retention) is caught up.
                        if start is None:
                            start = await self._retrying(lambda: self._beginning_offset(tp))
                        committed = start
                    if committed >= end:
                        return True
                    await asyncio.sleep(self.poll_seconds)
        except TimeoutError:
            return False
        except KafkaError as exc:
            log.warning("cannot tell whether conversation_store caught up",
                        extra={"error": f"{type(exc).__name__}: {exc}"})
            return False

    async def _retrying(self, ask: Callable[[], Awaitable[T]]) -> T:
        """Ask again after a retriable broker error (e.g. the group coordinator moving); the
        caller's timeout bounds it."""
        while True:
            try:
                return await ask()
            except KafkaError as exc:
                if not getattr(exc, "retriable", False):
                    raise
                await asyncio.sleep(self.poll_seconds)

    async def _partition(self, conversation_id: str) -> TopicPartition:
        partitions = await self.producer.partitions_for(self.topic)
        return TopicPartition(self.topic, partition_of(conversation_id.encode(), len(partitions)))

    async def _end_offset(self, tp: TopicPartition) -> int:
        assert self._offsets is not None, "start() first"
        offsets = await self._offsets.end_offsets([tp])
        return int(offsets[tp])

    async def _beginning_offset(self, tp: TopicPartition) -> int:
        assert self._offsets is not None, "start() first"
        offsets = await self._offsets.beginning_offsets([tp])
        return int(offsets[tp])

    async def _committed(self, tp: TopicPartition) -> int:
        assert self._admin is not None, "start() first"
        offsets = await self._admin.list_consumer_group_offsets(self.store_group_id,
                                                                partitions=[tp])
        found = offsets.get(tp)
        return -1 if found is None or found.offset is None else int(found.offset)
