"""The whole product in one process, for the inbox_api and browser tests.

``running_inbox`` starts the WhatsApp sandbox (as Meta and the customers), webhook_ingest,
conversation_store, outbound_sender and inbox_api (served for real on loopback), against the
test's Kafka topics and database, with two tenants: "acme" (the one tests play) and "globex"
(another tenant with its own number, to prove nothing leaks)::

    async with running_inbox(settings, db) as inbox:
        await inbox.customer_says("Hi, where is my order?")
        async with inbox.client() as http:
            page = (await http.get("/api/v1/conversations")).json()
        inbox.clock.shift = timedelta(hours=24)   # inbox_api's and the sender's clock
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from pydantic import SecretStr
from pymongo.asynchronous.database import AsyncDatabase

from sandbox.catalog import demo_templates
from sandbox.testing import SandboxClient, running_sandbox
from services.conversation_store.main import StoreService
from services.conversation_store.media.main import MediaArchiverService
from services.conversation_store.settings import ConversationStoreSettings
from services.inbox_api.accounts.repository import MongoAccountRepository
from services.inbox_api.accounts.service import AccountService
from services.inbox_api.admin import create_tenant
from services.inbox_api.main import create_app
from services.inbox_api.settings import InboxApiSettings
from services.outbound_sender.main import SenderService
from shared.channels import Channel
from shared.config import InfraSettings
from shared.phone import conversation_id
from shared.templates import TEMPLATES_COLLECTION, template_doc_id
from tests.integration.outbound_sender.conftest import (
    APP_SECRET,
    FAST_SANDBOX,
    Offset,
    sender_settings,
    webhook_ingest,
)
from tests.integration.serving import served

ACME = Channel(phone_number_id="100000000000071", display_phone_number="15550007171",
               waba_id="200000000000071", tenant_id="acme",
               access_token=SecretStr("acme-token"), throughput_mps=80)
GLOBEX = Channel(phone_number_id="100000000000072", display_phone_number="15550007272",
                 waba_id="200000000000072", tenant_id="globex",
                 access_token=SecretStr("globex-token"), throughput_mps=80)
CUSTOMER = "16505550123"
# How long customer_says waits for the message to be in the thread.
PIPELINE_DEADLINE_SECONDS = 30.0


@dataclass
class RunningInbox:
    """What a test sees of the running product."""

    base_url: str
    api_key: str
    other_key: str
    channel: Channel
    other_channel: Channel
    sandbox: SandboxClient
    clock: Offset
    db: AsyncDatabase[dict[str, Any]]

    def client(self, key: str | None = None, **options: Any) -> httpx.AsyncClient:
        """An HTTP client of inbox_api with ``key`` (default: acme's agent key) as bearer."""
        headers = {"Authorization": f"Bearer {key or self.api_key}"}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers,
                                 timeout=options.pop("timeout", 30.0), **options)

    async def sign_in_url(self, key: str | None = None) -> str:
        """A single-use sign-in link (``/#signin=...``) for ``key`` (default: acme's agent key),
        made on the inbox's own clock (which tests may shift), as the command line makes one."""
        accounts = AccountService(MongoAccountRepository(self.db), self.clock.now)
        link = await accounts.sign_in_link_for_key(key or self.api_key, 600)
        return self.base_url + link.path

    def conversation_id(self, wa_id: str = CUSTOMER) -> str:
        return conversation_id(self.channel.phone_number_id, wa_id)

    async def customer_says(self, text: str, wa_id: str = CUSTOMER, name: str = "Ana") -> None:
        """The customer writes to acme's number: signed webhook -> webhook_ingest -> Kafka ->
        conversation_store. Returns once the message is in the thread (stored)."""
        result = await self.sandbox.customer_says(self.channel.phone_number_id, wa_id, text,
                                                  name=name)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PIPELINE_DEADLINE_SECONDS
        while await self.db["messages"].find_one(
                {"wamid": result.wamid, "visible": True}) is None:
            if loop.time() > deadline:
                raise TimeoutError(f"message {result.wamid} did not reach the thread")
            await asyncio.sleep(0.05)


async def seed_templates(db: AsyncDatabase[dict[str, Any]], channel: Channel) -> None:
    """The sandbox's demo templates, approved, with their body text (as the sync would)."""
    for template in demo_templates():
        await db[TEMPLATES_COLLECTION].replace_one(
            {"_id": template_doc_id(channel.waba_id, template.name, template.language)},
            {"tenant_id": channel.tenant_id, "waba_id": channel.waba_id,
             "template_id": template.template_id, "name": template.name,
             "language": template.language, "status": "APPROVED",
             "category": template.category,
             "components": [{"type": "BODY", "text": template.body_text}]},
            upsert=True)


@asynccontextmanager
async def running_inbox(settings: InfraSettings, db: AsyncDatabase[dict[str, Any]], *,
                        clock_shift: timedelta = timedelta(0),
                        sandbox_settings: dict[str, Any] | None = None,
                        media_settings: dict[str, Any] | None = None,
                        ) -> AsyncIterator[RunningInbox]:
    """Sandbox, webhook_ingest, conversation_store (and its media archiver), outbound_sender
    and inbox_api, running. ``media_settings``: the archiver's (``media_max_bytes``, ...)."""
    clock = Offset(shift=clock_shift)
    api_key = await create_tenant(
        db, tenant=ACME.tenant_id, phone_number_id=ACME.phone_number_id, waba_id=ACME.waba_id,
        display_number=ACME.display_phone_number,
        access_token=ACME.access_token.get_secret_value(), agent="ana", name="Ana Agent")
    other_key = await create_tenant(
        db, tenant=GLOBEX.tenant_id, phone_number_id=GLOBEX.phone_number_id,
        waba_id=GLOBEX.waba_id, display_number=GLOBEX.display_phone_number,
        access_token=GLOBEX.access_token.get_secret_value(), agent="gus", name="Gus")
    for channel in (ACME, GLOBEX):
        await seed_templates(db, channel)
    services: list[Any] = []
    tasks: list[asyncio.Task[None]] = []
    async with AsyncExitStack() as stack:
        webhook_url = await stack.enter_async_context(webhook_ingest(settings))
        sandbox = await stack.enter_async_context(running_sandbox(
            channels=[ACME, GLOBEX], webhook_url=webhook_url, app_secret=APP_SECRET,
            **{**FAST_SANDBOX, **(sandbox_settings or {})}))
        try:
            store_settings = ConversationStoreSettings(
                **settings.model_dump(), port=0,
                group_id=f"{settings.topic_prefix}store", max_batch=100,
                media_port=0, media_group_id=f"{settings.topic_prefix}store-media",
                cloud_api_base_url=sandbox.cloud_api_base_url,
                media_backoff_base_seconds=0.05, media_backoff_max_seconds=0.2,
                **(media_settings or {}))
            store = StoreService(store_settings)
            await store.start()
            services.append(store)
            tasks.append(asyncio.create_task(store.run()))
            # The store's media archiver (docs/media.md), as conversation_store's main runs it.
            archiver = MediaArchiverService(store_settings, clock.now)
            await archiver.start()
            services.append(archiver)
            tasks.append(asyncio.create_task(archiver.run()))
            sender = SenderService(sender_settings(settings, sandbox.cloud_api_base_url),
                                   clock=clock.now)
            await sender.start()
            services.append(sender)
            tasks.append(asyncio.create_task(sender.run()))
            app = create_app(InboxApiSettings(**settings.model_dump(), port=0,
                                              cloud_api_base_url=sandbox.cloud_api_base_url,
                                              stream_ping_seconds=1.0, api_docs=True),
                             clock=clock.now)
            async with served(app) as port:
                try:
                    yield RunningInbox(base_url=f"http://127.0.0.1:{port}", api_key=api_key,
                                       other_key=other_key, channel=ACME,
                                       other_channel=GLOBEX, sandbox=sandbox, clock=clock,
                                       db=db)
                finally:
                    app.state.hub.close()  # open event streams would hold the shutdown
        finally:
            for service in services:
                service.stop()
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 30)
            for service in services:
                await service.close()
