"""The media archiver's composition root: its consumer group, the Cloud API client, the archive
and the channels, its own ops port (``media_port``: /healthz, /readyz, /metrics).

conversation_store's ``main.py`` runs it beside the store's fold in one process
(``CONVERSATION_STORE_MEDIA_ARCHIVE_ENABLED``); its readiness is its own, so a slow Meta never
reads as the fold being down, nor the reverse.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from services.conversation_store.media.adapters.mongo import GridFsBlobStore, MongoArchiveRecords
from services.conversation_store.media.archiver import MediaArchiver
from services.conversation_store.media.rules import MediaPolicy, RetrySchedule
from services.conversation_store.settings import ConversationStoreSettings
from shared.channel_tokens import token_box
from shared.channels import CHANNELS_COLLECTION, ChannelDirectory, ChannelLookup
from shared.cloud_media import CloudMediaClient
from shared.consumer import BatchConsumer
from shared.events.topics import INBOX_COMMANDS, WHATSAPP_INBOUND
from shared.kafka import make_consumer, make_producer
from shared.lifecycle import ConsumerService
from shared.mongo import answers, database, make_client
from shared.ops import InfraUnavailable

log = logging.getLogger(__name__)

TOPICS = (WHATSAPP_INBOUND, INBOX_COMMANDS)


class MediaArchiverService(ConsumerService):
    """The running archiver: start it, run it until :meth:`stop`, then close it."""

    name = "conversation_store media archiver"

    def __init__(self, settings: ConversationStoreSettings, clock: Callable[[], datetime],
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.clock = clock
        self.transport = transport  # tests: an in-process Cloud API

    async def wire(self) -> BatchConsumer[Any]:
        settings = self.settings
        client = make_client(settings, app_name="conversation_store-media")
        self.closers.add(client.close)
        db = database(client, settings)
        records = MongoArchiveRecords(db)
        blobs = GridFsBlobStore(db)
        await blobs.ensure_indexes()
        channels = ChannelLookup(db[CHANNELS_COLLECTION],
                                 ChannelDirectory(tokens=token_box(settings.channel_token_keys)))
        try:
            await channels.load()
        except Exception as exc:
            raise InfraUnavailable(
                f"cannot load the channel directory from MongoDB: {type(exc).__name__}") from exc
        refresher = asyncio.create_task(channels.keep_fresh(settings.channels_refresh_seconds))
        self.closers.add(refresher.cancel)
        http = httpx.AsyncClient(
            transport=self.transport, follow_redirects=True,
            timeout=httpx.Timeout(settings.media_read_timeout_seconds, connect=5.0))
        self.closers.add(http.aclose)
        archiver = MediaArchiver(
            records, blobs, CloudMediaClient(http, str(settings.cloud_api_base_url)), channels,
            MediaPolicy.of(settings.media_max_bytes, settings.media_allowed_types),
            RetrySchedule(settings.media_attempts, settings.media_backoff_base_seconds,
                          settings.media_backoff_max_seconds),
            concurrency=settings.media_concurrency, clock=self.clock)
        producer = make_producer(settings)  # dead letters only
        await producer.start()
        self.closers.add(producer.stop)
        consumer = make_consumer(settings, settings.media_group_id, TOPICS,
                                 max_poll_records=settings.media_max_batch)
        await consumer.start()
        self.closers.add(consumer.stop)
        runner: BatchConsumer[Any] = BatchConsumer(
            consumer, producer, archiver.decode, archiver, group=settings.media_group_id,
            max_records=settings.media_max_batch, poll_timeout_ms=settings.poll_timeout_ms)

        async def ready() -> bool:
            return await runner.is_ready() and await answers(client)

        await self.serve_ops(ready, settings.host, settings.media_port)
        log.info("media archiver started", extra={
            "group": settings.media_group_id, "cloud_api": str(settings.cloud_api_base_url),
            "ops_port": self.ops_port})
        return runner
