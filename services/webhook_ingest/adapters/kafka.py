"""The Kafka side of webhook_ingest: publishing a webhook durably, and the raw topic's settings."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

from services.webhook_ingest.errors import PublishFailed
from services.webhook_ingest.ports import RawWebhook
from shared.config import InfraSettings
from shared.events.base import Event
from shared.events.topics import WHATSAPP_INBOUND, WHATSAPP_WEBHOOKS_RAW
from shared.kafka import ensure_topics
from shared.partitioning import CachingPartitioner
from shared.producer import RecoveringProducer

log = logging.getLogger(__name__)

# Room for the record's key, headers and batch framing around a body at the size limit.
RECORD_OVERHEAD_BYTES = 64 * 1024


class KafkaWebhookPublisher:
    """Publishes the raw body to ``whatsapp.webhooks.raw.v1`` and the events to ``inbound``."""

    def __init__(self, producer: RecoveringProducer, settings: InfraSettings,
                 partitioner: CachingPartitioner) -> None:
        self._producer = producer
        self._partitioner = partitioner
        self._raw_topic = settings.topic(WHATSAPP_WEBHOOKS_RAW)
        self._inbound_topic = settings.topic(WHATSAPP_INBOUND)

    async def send(self, raw: RawWebhook, events: Sequence[Event]) -> asyncio.Future[None]:
        """Hand every record to the producer; the future resolves once all are acknowledged.

        The returned future fails with :class:`PublishFailed` if any record is refused.
        """
        send = self._producer.send
        futures: list[asyncio.Future[object]] = []
        try:
            key = raw.key()
            futures.append(await send(self._raw_topic, raw.body, key=key, headers=raw.headers(),
                                      partition=self._partition(self._raw_topic, key)))
            for event in events:
                key = event.record_key()
                futures.append(await send(self._inbound_topic, event.to_bytes(), key=key,
                                          partition=self._partition(self._inbound_topic, key)))
        except KafkaError as exc:
            _consume(futures)
            raise PublishFailed(f"{type(exc).__name__}: {exc}") from exc
        return all_acknowledged(futures)

    def _partition(self, topic: str, key: bytes) -> int | None:
        """The key's partition, computed here (cached) rather than by aiokafka per record.

        None while the topic's metadata is unknown: aiokafka then waits for it and partitions
        with the same partitioner, so a key always lands on the same partition.
        """
        partitions = self._producer.client.cluster.partitions_for_topic(topic)
        if not partitions:
            return None
        return self._partitioner.index(key, len(partitions))

    async def is_ready(self) -> bool:
        """True while the producer can publish (built, not stalled, a broker answers)."""
        return await self._producer.is_ready()


def all_acknowledged(futures: Sequence[asyncio.Future[object]]) -> asyncio.Future[None]:
    """One future for many acknowledgements (cheaper than ``gather``, which makes a task-like
    wrapper): done when all are, failed with :class:`PublishFailed` at the first failure."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    remaining = len(futures)

    def on_ack(future: asyncio.Future[object]) -> None:
        nonlocal remaining
        error = None if future.cancelled() else future.exception()
        if done.done():
            return
        if future.cancelled() or error is not None:
            reason = "cancelled" if error is None else f"{type(error).__name__}: {error}"
            done.set_exception(PublishFailed(reason))
            return
        remaining -= 1
        if remaining == 0:
            done.set_result(None)

    if not futures:
        done.set_result(None)
    for future in futures:
        future.add_done_callback(on_ack)
    return done


def _consume(futures: Sequence[asyncio.Future[object]]) -> None:
    """Retrieve outcomes nobody will await, so asyncio does not warn about them."""
    for future in futures:
        future.add_done_callback(lambda f: f.cancelled() or f.exception())


async def prepare_topics(
    settings: InfraSettings, retention_ms: int, max_message_bytes: int
) -> None:
    """Create missing topics; give the raw topic its retention and a size limit for big bodies.

    The raw topic belongs to this service, so its two settings are (re)applied at every start.
    """
    raw_configs = {"retention.ms": str(retention_ms), "max.message.bytes": str(max_message_bytes)}
    await ensure_topics(settings, [WHATSAPP_INBOUND])
    await ensure_topics(settings, [WHATSAPP_WEBHOOKS_RAW], configs=raw_configs)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        resource = ConfigResource(ConfigResourceType.TOPIC, settings.topic(WHATSAPP_WEBHOOKS_RAW),
                                  configs=raw_configs)
        for response in await admin.alter_configs([resource]):
            for error_code, message, *_ in getattr(response, "resources", []):
                if error_code:
                    log.warning("could not set the raw topic's configuration",
                                extra={"error_code": error_code, "error": message})
    finally:
        await admin.close()
