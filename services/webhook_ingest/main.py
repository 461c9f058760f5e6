"""Composition root of webhook_ingest: settings, clients, lifespan and the HTTP app.

Start-up: load the channel directory from MongoDB, create the contact directory (its aliases are
read on cache misses only), prepare the topics, start the idempotent
producer (acks=all). Shutdown: uvicorn stops accepting and lets in-flight requests finish, then
publishes still running in the background get a grace period, and the producer is stopped, which
flushes whatever it holds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TypedDict

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.webhook_ingest import metrics
from services.webhook_ingest.adapters.contact_aliases import contact_directory
from services.webhook_ingest.adapters.kafka import (
    RECORD_OVERHEAD_BYTES,
    KafkaWebhookPublisher,
    prepare_topics,
)
from services.webhook_ingest.errors import WebhookIngestError
from services.webhook_ingest.routers.webhook import IngestApp, WebhookEndpoint, handshake_router
from services.webhook_ingest.service import IngestService, WebhookPublisher
from services.webhook_ingest.settings import WebhookIngestSettings
from shared.channels import CHANNELS_COLLECTION, ChannelDirectory
from shared.config import load_settings
from shared.infra import check_infra
from shared.kafka import make_producer
from shared.logging import configure_logging
from shared.mongo import database, make_client
from shared.ops import InfraUnavailable, ops_router
from shared.partitioning import CachingPartitioner
from shared.runtime import http_server_config, tune_gc
from shared.tracing import configure_tracing

log = logging.getLogger(__name__)

SERVICE = "webhook_ingest"


class State(TypedDict):
    service: IngestService


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _Readiness:
    """Ready only while the producer can reach a broker."""

    def __init__(self) -> None:
        self.publisher: WebhookPublisher | None = None

    async def __call__(self) -> bool:
        return self.publisher is not None and await self.publisher.is_ready()


def create_app(
    settings: WebhookIngestSettings,
    clock: Callable[[], datetime] = _utcnow,
    on_started: Callable[[], None] | None = None,
) -> IngestApp:
    """The ASGI app; every client is created in its lifespan, none at import or here."""
    readiness = _Readiness()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[State]:
        mongo = make_client(settings, app_name=SERVICE)
        db = database(mongo, settings)
        channels = db[CHANNELS_COLLECTION]
        # Number / BSUID -> conversation. Not part of readiness: a cached customer needs no
        # MongoDB, and a miss while MongoDB is down answers that one webhook 503 (Meta retries);
        # dropping every replica out of the load balancer would refuse the cached ones too.
        contacts = contact_directory(
            db, capacity=settings.contacts_cache_size,
            on_conflict=lambda *_: metrics.ALIAS_CONFLICTS.inc())
        directory = ChannelDirectory()
        partitioner = CachingPartitioner()
        producer = make_producer(
            settings,
            max_request_size=settings.max_body_bytes + RECORD_OVERHEAD_BYTES,
            partitioner=partitioner,
        )
        try:
            try:
                await directory.load(channels)
            except Exception as exc:
                raise InfraUnavailable(
                    f"cannot load the channel directory from MongoDB: {type(exc).__name__}"
                ) from exc
            metrics.CHANNELS.set_function(lambda: len(directory))
            metrics.CONTACTS_CACHED.set_function(lambda: len(contacts))
            if settings.manage_raw_topic:
                await prepare_topics(
                    settings,
                    retention_ms=int(settings.raw_retention.total_seconds() * 1000),
                    max_message_bytes=settings.max_body_bytes + RECORD_OVERHEAD_BYTES,
                )
            await producer.start()
        except BaseException:
            await producer.stop()
            await mongo.close()
            raise
        publisher = KafkaWebhookPublisher(producer, settings, partitioner)
        service = IngestService(
            publisher=publisher,
            tenants=directory,
            secrets=settings.secrets(),
            verify_token=settings.verify_token.get_secret_value(),
            clock=clock,
            publish_timeout_seconds=settings.publish_timeout_seconds,
            pending_capacity=settings.pending_capacity,
            contacts=contacts,
        )
        refresher = asyncio.create_task(
            directory.keep_fresh(channels, settings.channels_refresh_seconds)
        )
        readiness.publisher = publisher
        if on_started is not None:
            on_started()
        log.info("webhook_ingest started",
                 extra={"channels": len(directory), "path": settings.path})
        try:
            yield {"service": service}
        finally:
            readiness.publisher = None
            refresher.cancel()
            await service.drain(settings.shutdown_grace_seconds)
            await producer.stop()  # flushes what it still holds
            await mongo.close()
            log.info("webhook_ingest stopped")

    api = FastAPI(title="webhook_ingest", lifespan=lifespan, docs_url=None, redoc_url=None)
    api.add_exception_handler(WebhookIngestError, _render_error)  # type: ignore[arg-type]
    api.add_exception_handler(Exception, _render_crash)
    api.include_router(handshake_router(settings.path))
    api.include_router(ops_router(readiness))
    return IngestApp(api, settings.path, WebhookEndpoint(settings.max_body_bytes))


async def _render_error(request: Request, exc: WebhookIngestError) -> JSONResponse:
    if exc.status_code >= 500:
        log.warning("webhook not accepted", extra={"error": exc.code, "detail": exc.detail})
    return JSONResponse({"error": exc.code, "detail": exc.detail}, status_code=exc.status_code)


async def _render_crash(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error", exc_info=exc)
    return JSONResponse({"error": "internal_error", "detail": type(exc).__name__},
                        status_code=500)


async def main() -> None:
    settings = load_settings(WebhookIngestSettings)
    configure_logging(SERVICE, settings.log_level)
    configure_tracing(SERVICE)
    await check_infra(settings)
    server = uvicorn.Server(http_server_config(
        create_app(settings, on_started=tune_gc), settings.host, settings.port,
        settings.shutdown_grace_seconds))
    await server.serve()
    if not server.started:
        raise InfraUnavailable("webhook_ingest failed to start; see the log above")
