"""The sender against the real broker and database, with the WhatsApp sandbox as Meta and, where a
test needs customers to write, the real webhook_ingest and conversation_store in this process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr
from pymongo.asynchronous.database import AsyncDatabase

from sandbox.testing import SandboxClient, running_sandbox
from services.conversation_store.main import StoreService
from services.conversation_store.settings import ConversationStoreSettings
from services.outbound_sender.main import SenderService
from services.outbound_sender.settings import OutboundSenderSettings
from services.webhook_ingest.main import create_app
from services.webhook_ingest.settings import WebhookIngestSettings
from shared import callback_data
from shared.channel_tokens import DEVELOPMENT_KEY, TokenBox
from shared.channels import CHANNELS_COLLECTION, Channel
from shared.config import InfraSettings
from shared.events import OUTBOUND_EVENTS, SendTemplate, SendText
from shared.events.topics import INBOX_COMMANDS, INBOX_OUTBOUND
from shared.kafka import publish
from shared.templates import TEMPLATES_COLLECTION, template_doc_id
from tests.integration.kafka_tools import read_topic
from tests.integration.serving import served

APP_SECRET = "outbound-sender-tests-secret"
CHANNEL = Channel(phone_number_id="100000000000021", display_phone_number="15550002121",
                  waba_id="200000000000021", tenant_id="acme",
                  access_token=SecretStr("sender-token"), throughput_mps=80)
CUSTOMER = "16505550123"
CID = f"{CHANNEL.phone_number_id}:{CUSTOMER}"
TEMPLATE = "hello_world"  # approved in the sandbox's demo catalog
# Status webhooks soon, so the store has little to do between steps.
FAST_SANDBOX: dict[str, Any] = {"sent_delay_seconds": 0.05, "delivered_delay_seconds": 0.1,
                                "read_delay_seconds": 0.2, "random_seed": 11}


def sender_settings(settings: InfraSettings, base_url: str, **overrides: Any
                    ) -> OutboundSenderSettings:
    options: dict[str, Any] = {
        **settings.model_dump(),
        "port": 0,
        "group_id": f"{settings.topic_prefix}sender",
        "store_group_id": f"{settings.topic_prefix}store",
        "cloud_api_base_url": base_url,
        "backoff_base_seconds": 0.05,
        "backoff_max_seconds": 0.5,
        "call_deadline_seconds": 5.0,
        "lease_margin_seconds": 1.0,
        "window_recheck_seconds": 10.0,
        "template_cache_seconds": 0.0,
        "drain_seconds": 10.0,
    }
    options.update(overrides)
    return OutboundSenderSettings(**options)


def spawn_sender(settings: InfraSettings, config: OutboundSenderSettings, log: Any,
                 **env_extra: str) -> subprocess.Popen[bytes]:
    """The sender as its own process, configured through the environment as deployed."""
    env = {**os.environ,
           "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
           "MONGODB_URI": settings.mongodb_uri, "MONGODB_DATABASE": settings.mongodb_database,
           "KAFKA_TOPIC_PREFIX": settings.topic_prefix, "LOG_LEVEL": "WARNING", **env_extra}
    env.pop("OUTBOUND_SENDER_THROUGHPUT_SHARE", None)
    for option in ("port", "group_id", "store_group_id", "cloud_api_base_url",
                   "backoff_base_seconds", "backoff_max_seconds", "call_deadline_seconds",
                   "lease_margin_seconds", "template_cache_seconds"):
        env[f"OUTBOUND_SENDER_{option.upper()}"] = str(getattr(config, option))
    return subprocess.Popen([sys.executable, "-m", "services.outbound_sender"], env=env,
                            stdout=log, stderr=subprocess.STDOUT)


async def prepare_database(db: AsyncDatabase[dict[str, Any]], *channels: Channel,
                           templates: tuple[str, ...] = (TEMPLATE,)) -> None:
    """The channel(s) in the shared directory; the templates approved (as the sync would)."""
    for channel in channels or (CHANNEL,):
        # Sealed as the admin command stores it (the services open it with the same key).
        await db[CHANNELS_COLLECTION].insert_one(channel.to_document(TokenBox([DEVELOPMENT_KEY])))
        for name in templates:
            await db[TEMPLATES_COLLECTION].insert_one({
                "_id": template_doc_id(channel.waba_id, name, "en_US"),
                "tenant_id": channel.tenant_id, "waba_id": channel.waba_id, "name": name,
                "language": "en_US", "status": "APPROVED", "category": "UTILITY",
                "components": []})


@dataclass
class Offset:
    """The sender's injected clock: the wall clock plus a shift the test moves."""

    shift: timedelta = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.shift


@dataclass
class Inbox:
    """The running pieces, and what a test does with them."""

    settings: InfraSettings
    producer: Any
    sandbox: SandboxClient
    clock: Offset
    sender: SenderService | None = None
    store: StoreService | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def command(self, *commands: SendText | SendTemplate) -> None:
        await publish(self.producer, self.settings.topic(INBOX_COMMANDS), commands)

    async def outcomes(self, count: int, timeout: float = 25.0) -> dict[str, list[Any]]:
        """Outbound results by command id, once ``count`` commands have at least one."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            records = await read_topic(self.settings, INBOX_OUTBOUND, min_records=count,
                                       timeout=max(0.5, deadline - loop.time()))
            found: dict[str, list[Any]] = {}
            for record in records:
                event = OUTBOUND_EVENTS.validate_json(record.value)
                found.setdefault(event.command_id, []).append(event)
            if len(found) >= count or loop.time() >= deadline:
                return found

    async def sent_bodies(self) -> list[dict[str, Any]]:
        """What the sandbox accepted for our number (the messages that went out)."""
        return [r.body for r in await self.sandbox.accepted(CHANNEL.phone_number_id)]

    async def start_store(self) -> None:
        store = StoreService(ConversationStoreSettings(
            **self.settings.model_dump(), port=0, group_id=f"{self.settings.topic_prefix}store",
            max_batch=100))
        await store.start()
        self.store = store
        self.tasks.append(asyncio.create_task(store.run()))


def text(command_id: str, body: str = "Hello from an agent") -> SendText:
    return SendText(occurred_at=datetime.now(UTC), tenant_id=CHANNEL.tenant_id,
                    conversation_id=CID, command_id=command_id,
                    business_phone_number_id=CHANNEL.phone_number_id, customer_wa_id=CUSTOMER,
                    text=body, reference=command_id)


def template(command_id: str, customer: str = CUSTOMER, priority: str = "reply",
             channel: Channel = CHANNEL) -> SendTemplate:
    return SendTemplate(occurred_at=datetime.now(UTC), tenant_id=channel.tenant_id,
                        conversation_id=f"{channel.phone_number_id}:{customer}",
                        command_id=command_id, business_phone_number_id=channel.phone_number_id,
                        customer_wa_id=customer, template_name=TEMPLATE, language="en_US",
                        priority=priority, reference=command_id)


@asynccontextmanager
async def webhook_ingest(settings: InfraSettings) -> AsyncIterator[str]:
    """webhook_ingest under uvicorn on a free loopback port; yields its webhook URL."""
    config = WebhookIngestSettings(**{
        **settings.model_dump(), "app_secrets": APP_SECRET, "verify_token": "verify",
        "publish_timeout_seconds": 5.0, "host": "127.0.0.1", "port": 0})
    async with served(create_app(config)) as port:
        yield f"http://127.0.0.1:{port}/webhook"


@asynccontextmanager
async def inbox(settings: InfraSettings, producer: Any, *, with_customers: bool = True,
                start_store: bool = True, sender: bool = True, channels: tuple[Channel, ...] = (),
                sandbox_settings: dict[str, Any] | None = None,
                **sender_overrides: Any) -> AsyncIterator[Inbox]:
    """Sandbox (as Meta), optionally webhook_ingest + conversation_store, and the sender."""
    clock = Offset()
    async with AsyncExitStack() as stack:
        webhook_url = None
        if with_customers:
            webhook_url = await stack.enter_async_context(webhook_ingest(settings))
        sandbox = await stack.enter_async_context(running_sandbox(
            channels=list(channels or (CHANNEL,)), webhook_url=webhook_url,
            app_secret=APP_SECRET, **{**FAST_SANDBOX, **(sandbox_settings or {})}))
        rig = Inbox(settings, producer, sandbox, clock)
        try:
            if with_customers and start_store:
                await rig.start_store()
            if sender:
                rig.sender = SenderService(
                    sender_settings(settings, sandbox.cloud_api_base_url, **sender_overrides),
                    clock=clock.now)
                await rig.sender.start()
                rig.tasks.append(asyncio.create_task(rig.sender.run()))
            yield rig
        finally:
            for service in (rig.sender, rig.store):
                if service is not None:
                    service.stop()
            await asyncio.wait_for(asyncio.gather(*rig.tasks, return_exceptions=True), 30)
            for service in (rig.sender, rig.store):
                if service is not None:
                    await service.close()


def reference_counts(bodies: list[dict[str, Any]]) -> dict[str, int]:
    """How many accepted requests carried each command id (sent as biz_opaque_callback_data)."""
    counts: dict[str, int] = {}
    for body in bodies:
        raw = body.get("biz_opaque_callback_data") if isinstance(body, dict) else None
        key = callback_data.decode(raw).command_id
        if key:
            counts[key] = counts.get(key, 0) + 1
    return counts
