"""Composition root of inbox_api: settings, clients, lifespan, routes, and the web inbox.

Start-up: MongoDB (indexes of api_keys and sessions), the topics, the idempotent producer, the
change feed (every partition of inbox.conversations.v1, from the end) and the httpx client of
the Cloud API (media proxy, attachment uploads, templates). Shutdown: stream clients are told
to leave first (an open event stream would otherwise hold uvicorn's graceful shutdown), then
everything closes, last opened first. ``main`` also serves the ops port (/metrics).

Size: the composition root wires every feature's use cases in one place, so reading it shows all
that the API opens and in what order; split, that order would be spread over modules.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from pymongo.asynchronous.database import AsyncDatabase

from services.inbox_api.account_health import routes as account_health
from services.inbox_api.account_health.repository import MongoNoticeStore
from services.inbox_api.account_health.service import AccountNoticesQuery
from services.inbox_api.accounts import routes as accounts
from services.inbox_api.accounts.people import PeopleAdmin
from services.inbox_api.accounts.service import AccountService
from services.inbox_api.adapters.cloud_api import CloudApiMedia
from services.inbox_api.adapters.cloud_templates import CloudApiTemplates
from services.inbox_api.adapters.contact_aliases import contact_directory
from services.inbox_api.adapters.kafka import ChangeFeed, KafkaCommandPublisher
from services.inbox_api.adapters.media_archive import GridFsMediaArchive
from services.inbox_api.audit import routes as audit_routes
from services.inbox_api.audit.recorder import AuditRecorder
from services.inbox_api.audit.repository import MongoAuditStore
from services.inbox_api.audit.routes import AuditMiddleware
from services.inbox_api.audit.service import AuditLog
from services.inbox_api.campaigns import routes as campaigns
from services.inbox_api.campaigns.repository import CampaignRepository
from services.inbox_api.campaigns.service import CampaignService
from services.inbox_api.canned_replies import routes as canned_replies
from services.inbox_api.canned_replies.repository import MongoCannedReplyStore
from services.inbox_api.canned_replies.service import CannedReplies
from services.inbox_api.conversations import routes as conversations
from services.inbox_api.conversations.commands import InboxCommands
from services.inbox_api.conversations.media import InboxMedia
from services.inbox_api.conversations.repository import MongoInboxRepository
from services.inbox_api.conversations.service import InboxQueries
from services.inbox_api.conversations.stream import StreamHub
from services.inbox_api.deps import State
from services.inbox_api.errors import install_error_handlers, too_large_body
from services.inbox_api.keys import routes as keys
from services.inbox_api.keys.repository import MongoKeyStore
from services.inbox_api.keys.service import KeyAdmin
from services.inbox_api.labels import routes as labels
from services.inbox_api.labels.repository import MongoLabelStore
from services.inbox_api.labels.service import Labels
from services.inbox_api.metrics import MetricsMiddleware
from services.inbox_api.notes import routes as notes
from services.inbox_api.notes.repository import MongoNoteRepository
from services.inbox_api.notes.service import NoteService
from services.inbox_api.presence import routes as presence_routes
from services.inbox_api.presence.repository import MongoPresenceRepository
from services.inbox_api.presence.service import PresenceService
from services.inbox_api.security_headers import SecurityHeadersMiddleware
from services.inbox_api.settings import InboxApiSettings
from services.inbox_api.teams import routes as teams
from services.inbox_api.teams.repository import MongoTeamRepository
from services.inbox_api.teams.service import TeamService
from services.inbox_api.templates import routes as templates
from services.inbox_api.templates.repository import MongoTemplateStore
from services.inbox_api.templates.service import TemplateAdmin, sync_at_start
from shared.body_limit import BodyLimit, BodyLimitMiddleware
from shared.channel_tokens import token_box
from shared.config import load_settings
from shared.events.topics import INBOX_COMMANDS, INBOX_CONVERSATIONS
from shared.infra import check_infra
from shared.kafka import ensure_topics, make_producer
from shared.logging import configure_logging
from shared.mongo import database, make_client
from shared.ops import Closers, InfraUnavailable, ops_app, ops_router, serve_ops, stop_ops
from shared.tracing import configure_tracing

log = logging.getLogger(__name__)

SERVICE = "inbox_api"
API_PREFIX = "/api/v1"
WEB_DIR = Path(__file__).parent / "web"


def utc_now() -> datetime:
    return datetime.now(UTC)


class _Readiness:
    """Ready while MongoDB answers and the producer reaches a broker."""

    def __init__(self) -> None:
        self.repository: MongoInboxRepository | None = None
        self.publisher: KafkaCommandPublisher | None = None

    async def __call__(self) -> bool:
        if self.repository is None or self.publisher is None:
            return False
        try:
            await asyncio.wait_for(self.repository.ping(), 2.0)
        except Exception:
            return False
        return await self.publisher.is_ready()


def create_app(settings: InboxApiSettings, clock: Callable[[], datetime] = utc_now,
               cloud_transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """The ASGI app; every client is created in its lifespan, none at import or here."""
    readiness = _Readiness()
    hub = StreamHub(settings.stream_buffer_size, settings.stream_client_queue)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[State]:
        closers = Closers()
        try:
            state = await _open(settings, clock, cloud_transport, hub, readiness, closers)
        except BaseException:
            await closers.close_all()
            raise
        log.info("inbox_api started", extra={"port": settings.port})
        try:
            yield state
        finally:
            readiness.repository = readiness.publisher = None
            hub.close()
            await closers.close_all()
            log.info("inbox_api stopped")

    # The API's document and docs only where a setting turns them on (never by default).
    app = FastAPI(title="WhatsApp Inbox API", version="1", lifespan=lifespan,
                  openapi_url=f"{API_PREFIX}/openapi.json" if settings.api_docs else None,
                  docs_url="/api/docs" if settings.api_docs else None,
                  redoc_url=None,
                  description="The agents' API: conversations, threads, commands, live "
                              "updates. See docs/inbox-api.md.")
    app.state.hub = hub
    app.state.readiness = readiness
    install_error_handlers(app)
    # The one list of routes: a router per package (CONTRIBUTING.md, "inbox_api: one package
    # per feature").
    for routes in (accounts, conversations, templates, campaigns, account_health, teams,
                   notes, labels, canned_replies, audit_routes, keys,
                   presence_routes):
        app.include_router(routes.router, prefix=API_PREFIX)
    # Probes on the API port; /metrics only on the ops port (create_ops_app).
    app.include_router(ops_router(readiness, metrics=False))
    # Large bodies refused as they stream in, not after reading them (shared/body_limit.py);
    # innermost, so the metrics count its 413s.
    app.add_middleware(BodyLimitMiddleware, limits=[
        BodyLimit("POST", rf"{API_PREFIX}/campaigns/[^/]+/recipients", campaigns.UPLOAD_LIMIT),
        BodyLimit("POST", rf"{API_PREFIX}/conversations/.+/attachments",
                  conversations.ATTACHMENT_LIMIT)], render=too_large_body)
    # Every successful mutating call (and every sign-in) is an audit entry (audit/).
    app.add_middleware(AuditMiddleware, router_owner=app, clock=clock)
    app.add_middleware(MetricsMiddleware, router_owner=app)
    # Outermost: CSP, no framing, nosniff, no referrer on every response (security_headers.py).
    app.add_middleware(SecurityHeadersMiddleware)
    if WEB_DIR.is_dir():
        # Last: everything not matched above is the web inbox's files.
        app.mount("/", StaticFiles(directory=WEB_DIR, html=True), name="web")
    return app


async def _open(settings: InboxApiSettings, clock: Callable[[], datetime],
                cloud_transport: httpx.AsyncBaseTransport | None, hub: StreamHub,
                readiness: _Readiness, closers: Closers) -> State:
    client = make_client(settings, app_name=SERVICE)
    closers.add(client.close)
    tokens = token_box(settings.channel_token_keys)
    repository = MongoInboxRepository(database(client, settings), tokens)
    try:
        await repository.ensure_indexes()
    except Exception as exc:
        raise InfraUnavailable(f"cannot prepare MongoDB: {type(exc).__name__}: {exc}") from exc
    await ensure_topics(settings, [INBOX_COMMANDS, INBOX_CONVERSATIONS])
    producer = make_producer(settings)
    closers.add(producer.stop)
    await producer.start()
    publisher = KafkaCommandPublisher(producer, settings)
    feed = ChangeFeed(settings)
    closers.add(feed.close)
    hub.start_at(await feed.start(producer))
    feed_task = asyncio.create_task(feed.run(hub.add))

    async def stop_feed() -> None:
        feed.stop()
        await asyncio.gather(feed_task, return_exceptions=True)

    closers.add(stop_feed)
    http = httpx.AsyncClient(transport=cloud_transport,
                             timeout=httpx.Timeout(settings.media_timeout_seconds, connect=5.0),
                             follow_redirects=True)
    closers.add(http.aclose)
    campaign_repository = CampaignRepository(repository.db, tokens)
    try:
        await campaign_repository.ensure_indexes()
    except Exception as exc:
        raise InfraUnavailable(f"cannot prepare MongoDB: {type(exc).__name__}: {exc}") from exc
    # One contact directory (and its cache) for new conversations and campaign rows.
    contacts = contact_directory(repository.db)
    campaign_service = CampaignService(campaign_repository, clock, contacts)
    template_service = TemplateAdmin(MongoTemplateStore(repository.db, tokens),
                                     CloudApiTemplates(http, str(settings.cloud_api_base_url)))
    startup_sync = asyncio.create_task(sync_at_start(template_service))

    async def stop_startup_sync() -> None:
        startup_sync.cancel()
        await asyncio.gather(startup_sync, return_exceptions=True)

    closers.add(stop_startup_sync)
    # Shutdown lets a cancel's background work finish before the client closes.
    closers.add(campaign_service.settled)
    readiness.repository, readiness.publisher = repository, publisher
    # One adapter for both directions: the media proxy downloads, attachments upload.
    media = CloudApiMedia(http, str(settings.cloud_api_base_url))
    # Meta's account notices: the banner, and the send pre-check (as the sender decides).
    notices = MongoNoticeStore(repository.db)
    # Accounts with people: password sign-in, persons' roles, the team (accounts/people.py).
    account_service = AccountService(repository, clock, people=repository)
    # Teams (and whom a conversation may be assigned to) and private notes, over the accounts'
    # list of active agents.
    team_repository, note_repository = (MongoTeamRepository(repository.db),
                                        MongoNoteRepository(repository.db))
    # Who is viewing or typing in a conversation: in MongoDB, so every replica sees it.
    presence_repository = MongoPresenceRepository(repository.db)
    try:
        await team_repository.ensure_indexes()
        await note_repository.ensure_indexes()
        await presence_repository.ensure_indexes()
    except Exception as exc:
        raise InfraUnavailable(f"cannot prepare MongoDB: {type(exc).__name__}: {exc}") from exc
    team_service = TeamService(team_repository, account_service, clock)
    desk_labels, desk_canned, desk_audit = await _open_desk(repository.db, clock, closers)
    return State(settings=settings, queries=InboxQueries(repository, clock),
                 labels=desk_labels, canned_replies=desk_canned, audit=desk_audit,
                 accounts=account_service, people=PeopleAdmin(account_service, repository),
                 keys=KeyAdmin(MongoKeyStore(repository.db), account_service, repository,
                               clock),
                 commands=InboxCommands(repository, publisher, clock, media, contacts,
                                        notices=notices, assignees=team_service),
                 teams=team_service,
                 notes=NoteService(note_repository, account_service, clock),
                 presence=PresenceService(presence_repository, clock),
                 account_notices=AccountNoticesQuery(notices, clock),
                 hub=hub,
                 media=InboxMedia(repository, publisher, clock, media,
                                  GridFsMediaArchive(repository.db)),
                 campaigns=campaign_service, template_admin=template_service)


async def _open_desk(db: AsyncDatabase[dict[str, Any]], clock: Callable[[], datetime],
                     closers: Closers) -> tuple[Labels, CannedReplies, AuditLog]:
    """Labels, canned replies and the audit log (its background writer closes before Mongo)."""
    label_store, canned_store, audit_store = (MongoLabelStore(db), MongoCannedReplyStore(db),
                                              MongoAuditStore(db))
    try:
        for store in (label_store, canned_store, audit_store):
            await store.ensure_indexes()
    except Exception as exc:
        raise InfraUnavailable(f"cannot prepare MongoDB: {type(exc).__name__}: {exc}") from exc
    recorder = AuditRecorder(audit_store)
    recorder.start()
    closers.add(recorder.close)
    return (Labels(label_store, clock), CannedReplies(canned_store, clock),
            AuditLog(audit_store, recorder, clock))


def create_ops_app(app: FastAPI) -> FastAPI:
    """The operators' side app of ``app`` (settings.ops_port): /healthz, /readyz, /metrics."""
    return ops_app(app.state.readiness)


class InboxServer(uvicorn.Server):
    """uvicorn that ends open event streams first, so a graceful shutdown does not wait on them."""

    def __init__(self, config: uvicorn.Config, hub: StreamHub) -> None:
        super().__init__(config)
        self.hub = hub

    async def shutdown(self, sockets: Any = None) -> None:
        self.hub.close()
        await super().shutdown(sockets)


async def main() -> None:
    settings = load_settings(InboxApiSettings)
    configure_logging(SERVICE, settings.log_level)
    configure_tracing(SERVICE)
    await check_infra(settings)
    app = create_app(settings)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None,
                            access_log=False, lifespan="on", timeout_graceful_shutdown=10)
    server = InboxServer(config, app.state.hub)
    ops_server, ops_task = await serve_ops(create_ops_app(app), settings.host, settings.ops_port)
    try:
        await server.serve()
    finally:
        await stop_ops(ops_server, ops_task)
    if not server.started:
        raise InfraUnavailable("inbox_api failed to start; see the log above")
