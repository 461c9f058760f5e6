"""Composition root: settings, clients, the adapters plugged into the pipeline (pipeline.py), ops
endpoints, signals, shutdown."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from services.conversation_store.adapters.kafka import (
    SOURCES,
    KafkaAssignment,
    KafkaForwarder,
    KafkaNoticePublisher,
    RebalanceListener,
    check_copartitioned,
    make_store_consumer,
    source_names,
)
from services.conversation_store.adapters.mongo import MongoThreadRepository
from services.conversation_store.adapters.mongo_account_health import AccountHealthFold
from services.conversation_store.adapters.mongo_opt_outs import OptOutFold
from services.conversation_store.adapters.mongo_round_robin import MongoRotation
from services.conversation_store.adapters.mongo_templates import TemplateStatusFold
from services.conversation_store.cache import CachingRepository
from services.conversation_store.handlers import StoreHandler
from services.conversation_store.media.main import MediaArchiverService
from services.conversation_store.ownership import OwnershipGuard
from services.conversation_store.pipeline import StorePipeline
from services.conversation_store.round_robin import RoundRobin
from services.conversation_store.settings import ConversationStoreSettings
from shared.config import load_settings
from shared.consumer import BatchConsumer
from shared.events.topics import ALL_TOPICS, DLQ_TOPICS
from shared.infra import check_infra
from shared.kafka import ensure_topics, make_producer
from shared.lifecycle import ConsumerService, run_all_until_stopped
from shared.logging import configure_logging
from shared.mongo import answers, database, make_client
from shared.tracing import configure_tracing

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class StoreService(ConsumerService):
    """The running store: start it, run it until :meth:`stop`, then close it."""

    name = "conversation_store"

    def __init__(
        self, settings: ConversationStoreSettings, clock: Callable[[], datetime] = utc_now
    ) -> None:
        super().__init__()
        self.settings = settings
        self.clock = clock

    async def wire(self) -> BatchConsumer[Any]:
        settings = self.settings
        await ensure_topics(settings, [*ALL_TOPICS, *DLQ_TOPICS])
        client = make_client(settings, app_name="conversation_store")
        self.closers.add(client.close)
        repository = MongoThreadRepository(database(client, settings), settings.write_chunk)
        templates = TemplateStatusFold(database(client, settings))
        await templates.ensure_indexes()
        account_health = AccountHealthFold(database(client, settings), self.clock)
        await account_health.ensure_indexes()
        await repository.ensure_indexes()
        cache = CachingRepository(repository, settings.cache_messages)
        producer = make_producer(settings)
        await producer.start()
        self.closers.add(producer.stop)
        topics = [settings.topic(t) for t in SOURCES]
        await check_copartitioned(producer, topics)
        consumer = make_store_consumer(settings, settings.group_id, settings.max_batch)
        await consumer.start()
        self.closers.add(consumer.stop)
        guard = OwnershipGuard(KafkaAssignment(consumer), on_rebalance=cache.forget)
        consumer.subscribe(topics, listener=RebalanceListener(guard))
        pipeline = StorePipeline(
            template_fold=templates,
            opt_out_fold=OptOutFold(database(client, settings), self.clock),
            account_health_fold=account_health,
            ownership_guard=guard,
            conversations=StoreHandler(
                cache, KafkaNoticePublisher(producer, settings), source_names(settings),
                self.clock, settings.fold_attempts,
                forwarder=KafkaForwarder(producer, settings),
                assign_new=RoundRobin(MongoRotation(database(client, settings)), self.clock)),
        )
        runner: BatchConsumer[Any] = BatchConsumer(
            consumer, producer, pipeline.decode, pipeline,
            group=settings.group_id,
            max_records=settings.max_batch, poll_timeout_ms=settings.poll_timeout_ms,
        )

        async def ready() -> bool:
            return await runner.is_ready() and await answers(client)

        await self.serve_ops(ready, settings.host, settings.port)
        log.info("conversation_store started",
                 extra={"group": settings.group_id, "topics": topics})
        return runner


async def main() -> None:
    settings = load_settings(ConversationStoreSettings)
    configure_logging("conversation_store", settings.log_level)
    configure_tracing("conversation_store")
    await check_infra(settings)
    services: list[ConsumerService] = [StoreService(settings)]
    if settings.media_archive_enabled:  # docs/media.md: its own group and ops port
        services.append(MediaArchiverService(settings, utc_now))
    await run_all_until_stopped(services)
