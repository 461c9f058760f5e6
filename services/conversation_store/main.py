"""Composition root: settings, clients, wiring, ops endpoints, signals, shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from services.conversation_store.adapters.kafka import (
    SOURCES,
    KafkaNoticePublisher,
    OwnershipGuard,
    check_copartitioned,
    make_store_consumer,
    source_names,
)
from services.conversation_store.adapters.mongo import MongoThreadRepository
from services.conversation_store.cache import CachingRepository
from services.conversation_store.handlers import STORE_EVENTS, StoreHandler
from services.conversation_store.opt_outs import OptOutFold, folding_opt_outs
from services.conversation_store.settings import ConversationStoreSettings
from services.conversation_store.templates import TemplateStatusFold, folding_templates
from shared.config import load_settings
from shared.events.topics import ALL_TOPICS, DLQ_TOPICS
from shared.infra import check_infra
from shared.kafka import BatchConsumer, ensure_topics, make_producer
from shared.logging import configure_logging
from shared.mongo import answers, database, make_client
from shared.ops import Closers, ops_app, serve_ops, stop_ops

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class StoreService:
    """The running store: start it, run it until :meth:`stop`, then close it."""

    def __init__(
        self, settings: ConversationStoreSettings, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.runner: BatchConsumer[Any] | None = None
        self._closers = Closers()
        self.ops_port: int | None = None
        self._stop_requested = False

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.close()
            raise

    async def _start(self) -> None:
        settings = self.settings
        await ensure_topics(settings, [*ALL_TOPICS, *DLQ_TOPICS])
        client = make_client(settings, app_name="conversation_store")
        self._closers.add(client.close)
        repository = MongoThreadRepository(database(client, settings), settings.write_chunk)
        templates = TemplateStatusFold(database(client, settings))
        await templates.ensure_indexes()
        await repository.ensure_indexes()
        cache = CachingRepository(repository, settings.cache_messages)
        producer = make_producer(settings)
        await producer.start()
        self._closers.add(producer.stop)
        topics = [settings.topic(t) for t in SOURCES]
        await check_copartitioned(producer, topics)
        consumer = make_store_consumer(settings, settings.group_id, settings.max_batch)
        await consumer.start()
        self._closers.add(consumer.stop)
        handler = StoreHandler(cache, KafkaNoticePublisher(producer, settings),
                               source_names(settings), self.clock, settings.fold_attempts)
        guard = OwnershipGuard(consumer, handler, on_rebalance=cache.forget)
        consumer.subscribe(topics, listener=guard)
        self.runner = BatchConsumer(
            consumer, producer, STORE_EVENTS, folding_templates(
                templates, folding_opt_outs(OptOutFold(database(client, settings), self.clock),
                                            guard.handle)),
            group=settings.group_id,
            max_records=settings.max_batch, poll_timeout_ms=settings.poll_timeout_ms,
        )
        if self._stop_requested:  # SIGTERM during start-up: run() returns at once
            self.runner.stop()
        runner = self.runner
        async def ready() -> bool:
            return await runner.is_ready() and await answers(client)

        server, task = await serve_ops(ops_app(ready),
                                       settings.host, settings.port)
        self._closers.add(lambda: stop_ops(server, task))
        log.info("conversation_store started",
                 extra={"group": settings.group_id, "topics": topics})

    async def run(self) -> None:
        assert self.runner is not None, "start() first"
        await self.runner.run()

    def stop(self) -> None:
        """Finish the batch in hand, commit it, and make :meth:`run` return (at once when it is
        called during :meth:`start`)."""
        self._stop_requested = True
        if self.runner is not None:
            self.runner.stop()

    async def close(self) -> None:
        await self._closers.close_all()


async def main() -> None:
    settings = load_settings(ConversationStoreSettings)
    configure_logging("conversation_store", settings.log_level)
    await check_infra(settings)
    service = StoreService(settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, service.stop)
    try:
        await service.start()
        await service.run()
        log.info("conversation_store stopped: last batch committed")
    finally:
        await service.close()
