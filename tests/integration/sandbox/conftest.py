"""The sandbox wired to the real webhook_ingest (in-process, loopback) and the real broker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from pydantic import SecretStr
from pymongo.asynchronous.database import AsyncDatabase

from services.webhook_ingest.main import create_app
from services.webhook_ingest.settings import WebhookIngestSettings
from shared.channels import CHANNELS_COLLECTION, Channel
from shared.config import InfraSettings
from tests.integration.serving import served

APP_SECRET = "sandbox-integration-secret"
CHANNEL = Channel(phone_number_id="100000000000011", display_phone_number="15550001212",
                  waba_id="200000000000011", tenant_id="acme", access_token=SecretStr("tok"),
                  throughput_mps=1000)
AUTH = {"Authorization": "Bearer tok"}
# Statuses quickly, and retries short, so that each test stays well under its time budget.
FAST: dict[str, Any] = {
    "sent_delay_seconds": 0.05, "delivered_delay_seconds": 0.1, "read_delay_seconds": 0.2,
    "delay_jitter": 0.5, "webhook_retry_base_seconds": 0.2, "webhook_max_attempts": 10,
    "random_seed": 7,
}


@asynccontextmanager
async def webhook_ingest(settings: InfraSettings, port: int = 0) -> AsyncIterator[str]:
    """webhook_ingest under uvicorn on loopback; yields its webhook URL."""
    config = WebhookIngestSettings(**{
        **settings.model_dump(), "app_secrets": APP_SECRET, "verify_token": "verify",
        "publish_timeout_seconds": 5.0, "host": "127.0.0.1", "port": port})
    async with served(create_app(config), port) as bound:
        yield f"http://127.0.0.1:{bound}/webhook"


@pytest.fixture
async def channel(db: AsyncDatabase[dict[str, Any]]) -> Channel:
    """The sandbox's number, known to webhook_ingest's channel directory (tenant ``acme``)."""
    await db[CHANNELS_COLLECTION].insert_one(CHANNEL.to_document())
    return CHANNEL
