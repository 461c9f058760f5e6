"""The window race check against the real broker: has conversation_store caught up?"""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.outbound_sender.adapters.kafka import KafkaInboundCatchUp
from shared.config import InfraSettings
from shared.events.topics import WHATSAPP_INBOUND
from shared.partitioning import partition_of

pytestmark = pytest.mark.integration
CONVERSATION = "100000000000021:16505550123"


async def store_commits(settings: InfraSettings, group: str, tp: TopicPartition, offset: int):
    """What conversation_store does after its MongoDB write: commit its group's offset."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers,
                                group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([tp])
        await consumer.commit({tp: offset})
    finally:
        await consumer.stop()


async def test_waits_for_the_stores_commit_to_reach_the_partitions_end(
    settings: InfraSettings, producer: Any
):
    group = f"{settings.topic_prefix}store"
    catch_up = KafkaInboundCatchUp(settings, producer, group, poll_seconds=0.02)
    await catch_up.start()
    try:
        # Nothing was ever written to the conversation's partition: caught up at once.
        assert await catch_up.wait(CONVERSATION, timeout=5)

        # A customer message lands on the partition the producer picks for the key...
        topic = settings.topic(WHATSAPP_INBOUND)
        sent = await producer.send_and_wait(topic, b"{}", key=CONVERSATION.encode())
        partitions = await producer.partitions_for(topic)
        assert sent.partition == partition_of(CONVERSATION.encode(), len(partitions))
        tp = TopicPartition(topic, sent.partition)
        # ...and the store has not folded it: not caught up within the bound.
        assert not await catch_up.wait(CONVERSATION, timeout=0.5)

        await store_commits(settings, group, tp, sent.offset + 1)
        assert await catch_up.wait(CONVERSATION, timeout=5)
    finally:
        await catch_up.close()
