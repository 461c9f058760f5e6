"""Composition root: settings, clients, wiring, ops endpoints, signals, shutdown.

Shutdown (SIGTERM or SIGINT): stop polling; calls in flight finish and their outcomes are
recorded and published; sends still waiting (for a token, a retry time) are dropped unfinished;
the offsets of everything finished are committed; then the clients close.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from services.outbound_sender.adapters.account_health import MongoAccountNotices
from services.outbound_sender.adapters.campaign_mongo import MongoCampaignStore
from services.outbound_sender.adapters.cloud_api import HttpCloudApi
from services.outbound_sender.adapters.kafka import (
    KafkaInboundCatchUp,
    KafkaResultPublisher,
    command_topics,
    make_sender_consumer,
)
from services.outbound_sender.adapters.mongo import (
    MongoChannels,
    MongoLedger,
    MongoTemplates,
    MongoWindows,
)
from services.outbound_sender.adapters.opt_outs import MongoOptOuts
from services.outbound_sender.adapters.rate_mongo import MongoRateBuckets
from services.outbound_sender.campaigns.dispatch import CampaignDispatcher
from services.outbound_sender.campaigns.ports import DispatchConfig
from services.outbound_sender.handlers import CommandPipeline
from services.outbound_sender.rate import Pacers
from services.outbound_sender.retry import RetryPolicy
from services.outbound_sender.service import SendConfig, SendService
from services.outbound_sender.settings import SANDBOX_BASE_URL, OutboundSenderSettings
from shared.channel_tokens import token_box
from shared.channels import ChannelDirectory
from shared.config import load_settings
from shared.consumer import BatchConsumer
from shared.events import INBOX_COMMANDS_ADAPTER, InboxCommand
from shared.events.commands import Command
from shared.events.topics import ALL_TOPICS, DLQ_TOPICS, INBOX_COMMANDS, INBOX_OUTBOUND
from shared.infra import check_infra
from shared.kafka import ensure_topics, make_producer, publish
from shared.lifecycle import ConsumerService, run_until_stopped
from shared.logging import configure_logging
from shared.mongo import answers, database, make_client
from shared.ops import InfraUnavailable
from shared.runtime import tune_gc
from shared.tracing import configure_tracing

log = logging.getLogger(__name__)

SERVICE = "outbound_sender"
# Connections per transport: httpcore's pool work per request grows with the square of its
# connections, so many small pools beat one big one (see HttpCloudApi).
CONNECTIONS_PER_TRANSPORT = 4


def utc_now() -> datetime:
    return datetime.now(UTC)


class SenderService(ConsumerService):
    """The running sender: start it, run it until :meth:`stop`, then close it."""

    name = SERVICE

    def __init__(
        self,
        settings: OutboundSenderSettings,
        clock: Callable[[], datetime] = utc_now,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.clock = clock
        self.transport = transport  # tests: an in-process Cloud API
        self.pipeline: CommandPipeline | None = None

    async def wire(self) -> BatchConsumer[Any]:
        settings = self.settings
        await ensure_topics(settings, [*ALL_TOPICS, *DLQ_TOPICS])
        client = make_client(settings, app_name=SERVICE)
        self.closers.add(client.close)
        db = database(client, settings)
        ledger = MongoLedger(db, settings.ledger_retention, self.clock)
        await ledger.ensure_indexes()
        tokens = token_box(settings.channel_token_keys)
        channels = MongoChannels(db, ChannelDirectory(tokens=tokens))
        try:
            await channels.load()
        except Exception as exc:
            raise InfraUnavailable(
                f"cannot load the channel directory from MongoDB: {type(exc).__name__}") from exc
        refresher = asyncio.create_task(channels.keep_fresh(settings.channels_refresh_seconds))
        self.closers.add(refresher.cancel)

        producer = make_producer(settings)
        await producer.start()
        self.closers.add(producer.stop)
        catch_up = KafkaInboundCatchUp(settings, producer, settings.store_group_id)
        await catch_up.start()
        self.closers.add(catch_up.close)
        shards = math.ceil(settings.max_connections / CONNECTIONS_PER_TRANSPORT)
        tls = httpx.create_ssl_context()  # one for every pool (loading CAs takes ~30 ms)
        limits = httpx.Limits(max_connections=CONNECTIONS_PER_TRANSPORT,
                              max_keepalive_connections=CONNECTIONS_PER_TRANSPORT,
                              keepalive_expiry=settings.keepalive_seconds)
        transports: list[httpx.AsyncBaseTransport] = (
            [self.transport] if self.transport is not None
            else [httpx.AsyncHTTPTransport(verify=tls, limits=limits) for _ in range(shards)])
        cloud = HttpCloudApi(
            str(settings.cloud_api_base_url), transports, self.clock,
            connections_per_transport=CONNECTIONS_PER_TRANSPORT,
            timeout=httpx.Timeout(settings.call_deadline_seconds,
                                  connect=settings.connect_timeout_seconds,
                                  pool=settings.connect_timeout_seconds))
        if self.transport is None:
            self.closers.add(cloud.aclose)

        leases = MongoRateBuckets(db) if settings.rate_scope == "shared" else None
        pacers = Pacers(settings.burst_seconds, time.monotonic, asyncio.sleep,
                        settings.throughput_share, leases=leases,
                        lease_seconds=settings.rate_lease_seconds,
                        hold_seconds=settings.rate_hold_seconds)
        service = SendService(
            opt_outs=MongoOptOuts(db, settings.template_cache_seconds),
            account_notices=MongoAccountNotices(db, settings.template_cache_seconds),
            channels=channels,
            windows=MongoWindows(db),
            templates=MongoTemplates(db, settings.template_cache_seconds),
            catch_up=catch_up,
            ledger=ledger,
            cloud=cloud,
            pacers=pacers,
            publisher=KafkaResultPublisher(producer, settings.topic(INBOX_OUTBOUND)),
            config=SendConfig(
                owner=settings.instance_id,
                call_deadline_seconds=settings.call_deadline_seconds,
                lease_margin_seconds=settings.lease_margin_seconds,
                window_recheck_seconds=settings.window_recheck_seconds,
                max_in_flight=shards * CONNECTIONS_PER_TRANSPORT,
                retry=RetryPolicy(max_attempts=settings.max_attempts,
                                  pair_limit_max_attempts=settings.pair_limit_max_attempts,
                                  base_seconds=settings.backoff_base_seconds,
                                  max_seconds=settings.backoff_max_seconds),
            ),
            clock=self.clock,
        )
        consumer = make_sender_consumer(settings, settings.group_id, settings.max_batch)
        await consumer.start()
        self.closers.add(consumer.stop)
        pipeline = CommandPipeline(consumer, service, max_buffered=settings.max_buffered,
                                   drain_seconds=settings.drain_seconds)
        consumer.subscribe(command_topics(settings), listener=pipeline)
        runner: BatchConsumer[InboxCommand] = BatchConsumer(
            consumer, producer, INBOX_COMMANDS_ADAPTER, pipeline, group=settings.group_id,
            max_records=settings.max_batch, poll_timeout_ms=settings.poll_timeout_ms,
            progress=pipeline,
        )
        pipeline.dead_letter = runner.dead_letter
        if settings.campaigns_enabled:
            await self._start_campaigns(db, channels, producer, pacers)
        self.pipeline = pipeline
        await self.serve_ops(lambda: _ready(runner, pipeline, client), settings.host, settings.port)
        if str(settings.cloud_api_base_url).rstrip("/") == SANDBOX_BASE_URL:
            log.warning("sending to the local WhatsApp sandbox, not Meta "
                        "(set OUTBOUND_SENDER_CLOUD_API_BASE_URL for the real Cloud API)")
        log.info("outbound_sender started", extra={
            "group": settings.group_id, "cloud_api": str(settings.cloud_api_base_url),
            "ops_port": self.ops_port})
        return runner

    async def _start_campaigns(self, db: Any, channels: MongoChannels, producer: Any,
                               pacers: Pacers) -> None:
        """The campaign dispatcher (docs/campaigns.md), stopped first at shutdown."""
        settings = self.settings
        store = MongoCampaignStore(db)
        await store.ensure_indexes()
        topic = settings.topic(INBOX_COMMANDS)

        async def release(commands: Sequence[Command]) -> None:
            await publish(producer, topic, commands)

        dispatcher = CampaignDispatcher(
            store, channels, release, lambda number: pacers.waiting().get(number, 0),
            DispatchConfig(owner=settings.instance_id,
                           poll_seconds=settings.campaign_poll_seconds,
                           lease_seconds=settings.campaign_lease_seconds,
                           lead_seconds=settings.campaign_lead_seconds,
                           campaign_share=settings.campaign_share,
                           throughput_share=settings.throughput_share,
                           max_batch=settings.campaign_max_batch),
            self.clock)
        task = asyncio.create_task(dispatcher.run())

        async def stop_dispatcher() -> None:
            await dispatcher.stop()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

        self.closers.add(stop_dispatcher)


async def main() -> None:
    settings = load_settings(OutboundSenderSettings)
    configure_logging(SERVICE, settings.log_level)
    configure_tracing(SERVICE)
    await check_infra(settings)
    await run_until_stopped(SenderService(settings), started=tune_gc)


async def _ready(runner: BatchConsumer[Any], pipeline: Any, client: Any) -> bool:
    """Consuming, sending, able to publish results, and the database (ledger) answers."""
    return bool(pipeline.healthy) and await runner.is_ready() and await answers(client)
