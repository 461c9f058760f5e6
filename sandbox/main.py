"""Composition root of the sandbox: settings, the webhook client, lifespan and the HTTP app.

Start-up: build the catalog (channels, templates), the webhook dispatcher (with an httpx client
when a webhook URL is set) and the :class:`Sandbox`; start the dispatcher's background task.
Shutdown: uvicorn lets in-flight requests finish (a request held by an injected timeout ends when
its client hangs up, or after the grace period), then webhook POSTs in flight get a grace period
and the client is closed. Scheduled statuses not yet due are dropped: the sandbox keeps no state.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TypedDict

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sandbox.adapters.webhook_poster import HttpWebhookPoster, make_client
from sandbox.catalog import Catalog
from sandbox.clock import OffsetClock, utcnow
from sandbox.dispatcher import DispatchOptions, WebhookDispatcher, WebhookTransport
from sandbox.graph_objects import GraphObjects
from sandbox.media import MediaStore
from sandbox.meta_events import MetaEvents
from sandbox.records import ReceivedLog
from sandbox.routers.control import control_router
from sandbox.routers.events import events_router
from sandbox.routers.graph import SandboxApp
from sandbox.routers.media import media_router
from sandbox.routers.objects import install_graph_errors, objects_router
from sandbox.routers.page import page_router
from sandbox.routers.templates import templates_router
from sandbox.rules import NumberRates, PairRates
from sandbox.service import ControlError, Limits, Sandbox
from sandbox.settings import SandboxSettings, load
from sandbox.statuses import Behaviour
from sandbox.template_admin import TemplateAdmin
from shared.logging import configure_logging
from shared.ops import ops_router
from shared.runtime import http_server_config, tune_gc

log = logging.getLogger(__name__)

SERVICE = "sandbox"
SHUTDOWN_GRACE_SECONDS = 3


class State(TypedDict):
    sandbox: Sandbox
    template_admin: TemplateAdmin
    graph: GraphObjects
    events: MetaEvents


def behaviour_of(settings: SandboxSettings) -> Behaviour:
    return Behaviour(
        sent_delay_seconds=settings.sent_delay_seconds,
        delivered_delay_seconds=settings.delivered_delay_seconds,
        read_delay_seconds=settings.read_delay_seconds,
        delay_jitter=settings.delay_jitter,
        send_read_status=settings.send_read_status,
        out_of_order_probability=settings.out_of_order_probability,
        duplicate_probability=settings.duplicate_probability,
        pair_rate_limit=settings.pair_rate_limit,
    )


def dispatch_options(settings: SandboxSettings) -> DispatchOptions:
    return DispatchOptions(
        batch_max=settings.webhook_batch_max,
        interval=settings.webhook_batch_interval_seconds,
        concurrency=settings.webhook_concurrency,
        max_attempts=settings.webhook_max_attempts,
        retry_base=settings.webhook_retry_base_seconds,
        retry_max=settings.webhook_retry_max_seconds,
        retry_seconds=settings.webhook_retry_seconds,
        queue_limit=settings.webhook_queue_limit,
    )


class _Readiness:
    def __init__(self) -> None:
        self.started = False

    def __call__(self) -> bool:
        return self.started


def create_app(
    settings: SandboxSettings,
    clock: Callable[[], datetime] = utcnow,
    monotonic: Callable[[], float] = time.monotonic,
    webhook_transport: WebhookTransport | None = None,
    on_started: Callable[[], None] | None = None,
) -> SandboxApp:
    """The ASGI app; the webhook client is created in its lifespan, not here.

    ``webhook_transport`` replaces the HTTP poster (tests pass a fake that records posts).
    """
    readiness = _Readiness()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[State]:
        rng = random.Random(settings.random_seed)
        options = dispatch_options(settings)
        client = None
        transport = webhook_transport
        if transport is None and settings.webhook_url is not None:
            client = make_client(settings.webhook_timeout_seconds, options.concurrency)
            transport = HttpWebhookPoster(client, settings.webhook_url, settings.secret)
        dispatcher = WebhookDispatcher(transport, options, rng=random.Random(rng.random()))
        sandbox = Sandbox(
            Catalog(settings.channels, settings.templates),
            dispatcher,
            clock=OffsetClock(clock),
            behaviour=behaviour_of(settings),
            limits=Limits(window=settings.window,
                          retry_after_seconds=settings.retry_after_seconds),
            rates=NumberRates(settings.rate_burst_seconds),
            pair_rates=PairRates(settings.pair_rate_per_second, settings.pair_burst),
            received=ReceivedLog(settings.received_limit),
            monotonic=monotonic,
            rng=rng,
            media=MediaStore(),
        )
        graph = GraphObjects(sandbox.catalog, sandbox.media, sandbox.clock)
        template_admin = TemplateAdmin(sandbox.catalog, dispatcher, sandbox.clock,
                                       settings.template_review_seconds)
        dispatcher.start()
        readiness.started = True
        if on_started is not None:
            on_started()
        log.info("sandbox started", extra={
            "channels": [c.phone_number_id for c in settings.channels],
            "templates": len(settings.templates), "webhook_url": settings.webhook_url})
        try:
            yield {"sandbox": sandbox, "template_admin": template_admin, "graph": graph,
                   "events": MetaEvents(sandbox)}
        finally:
            readiness.started = False
            await dispatcher.stop(grace_seconds=SHUTDOWN_GRACE_SECONDS)
            if client is not None:
                await client.aclose()
            log.info("sandbox stopped")

    api = FastAPI(title="WhatsApp Cloud API sandbox", lifespan=lifespan, redoc_url=None)
    api.add_exception_handler(ControlError, _render_control_error)  # type: ignore[arg-type]
    install_graph_errors(api)
    api.include_router(control_router())
    api.include_router(events_router())
    api.include_router(page_router())
    api.include_router(templates_router())
    api.include_router(ops_router(readiness))
    # After the others: ``/{version}/{id}`` would otherwise take their two-segment paths.
    api.include_router(objects_router())
    api.include_router(media_router())
    return SandboxApp(api)


async def _render_control_error(request: Request, exc: ControlError) -> JSONResponse:
    return JSONResponse({"error": "control_error", "detail": exc.detail},
                        status_code=exc.status_code)


async def main() -> None:
    settings = load()
    configure_logging(SERVICE, settings.log_level)
    server = uvicorn.Server(http_server_config(
        create_app(settings, on_started=tune_gc), settings.host, settings.port,
        SHUTDOWN_GRACE_SECONDS))
    await server.serve()
