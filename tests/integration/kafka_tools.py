"""Reading topics back in integration tests."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.config import InfraSettings


async def read_topic(
    settings: InfraSettings, topic: str, *, min_records: int = 1, timeout: float = 20.0
) -> list[Any]:
    """Every record of the (prefixed) ``topic`` from the beginning, once at least ``min_records``
    are there or ``timeout`` passed; ordered by partition, then offset."""
    name = settings.topic(topic)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(name)
        if not partitions:
            await consumer._client.force_metadata_update()  # topic just created
            partitions = consumer.partitions_for_topic(name) or set()
        tps = [TopicPartition(name, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records: list[Any] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for part in batch.values():
                records.extend(part)
            if len(records) >= min_records:
                # Give stragglers (duplicates we must notice) a moment to arrive.
                await asyncio.sleep(0.3)
                for part in (await consumer.getmany(timeout_ms=300)).values():
                    records.extend(part)
                break
        return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        await consumer.stop()
