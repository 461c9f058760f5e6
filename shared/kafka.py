"""Kafka plumbing: producer and consumer factories, topic creation, and bounded publishing.

The consumer loop every consumer service runs is :mod:`shared.consumer`; the producer that
replaces itself is :mod:`shared.producer`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    KafkaTimeoutError,
    TopicAlreadyExistsError,
)

from shared.config import InfraSettings
from shared.events.base import Event
from shared.producer import RecoveringProducer

log = logging.getLogger(__name__)

# How long a consumer's handler waits for the broker to acknowledge what it publishes.
PUBLISH_TIMEOUT_SECONDS = 30.0

def make_producer(settings: InfraSettings, **overrides: Any) -> RecoveringProducer:
    """An idempotent producer that waits for every in-sync replica (nothing acked is lost), and
    replaces itself when aiokafka's gives up (:mod:`shared.producer`)."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 2,
        "max_batch_size": 256 * 1024,
        "request_timeout_ms": 15000,
        "max_request_size": 4 * 1024 * 1024,  # raw webhook bodies may be up to 3 MB
    }
    options.update(overrides)
    return RecoveringProducer(lambda: AIOKafkaProducer(**options))


def make_consumer(
    settings: InfraSettings, group_id: str, topics: Sequence[str], **overrides: Any
) -> AIOKafkaConsumer:
    """A consumer-group member with manual commits, starting from the earliest record."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_poll_records": 500,
        "isolation_level": "read_committed",
    }
    options.update(overrides)
    return AIOKafkaConsumer(*[settings.topic(t) for t in topics], **options)


async def ensure_topics(
    settings: InfraSettings,
    names: Iterable[str],
    partitions: int | None = None,
    replication_factor: int = 1,
    configs: dict[str, str] | None = None,
) -> None:
    """Create the (prefixed) topics that do not exist yet. Safe to call at every start-up."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                name=settings.topic(n),
                num_partitions=partitions or settings.topic_partitions,
                replication_factor=replication_factor,
                topic_configs=configs or {},
            )
            for n in names
            if settings.topic(n) not in existing
        ]
        if wanted:
            try:
                await admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass  # another process created them meanwhile
    finally:
        await admin.close()


async def publish(producer: RecoveringProducer, topic: str, events: Iterable[Event],
                  timeout_seconds: float = PUBLISH_TIMEOUT_SECONDS) -> list[Any]:
    """Send every event (keyed by conversation) and wait until the broker acknowledged all.

    Raises ``KafkaTimeoutError`` (transient: the caller retries) when the broker has not
    answered within ``timeout_seconds``, so no caller waits forever on an unreachable broker."""
    futures = [
        await producer.send(topic, event.to_bytes(), key=event.record_key()) for event in events
    ]
    try:
        return list(await asyncio.wait_for(asyncio.gather(*futures), timeout_seconds))
    except TimeoutError:
        raise KafkaTimeoutError(
            f"{topic}: no acknowledgement within {timeout_seconds:.0f}s") from None


