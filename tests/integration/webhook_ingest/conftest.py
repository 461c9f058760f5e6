"""The webhook service running for real: uvicorn on a free loopback port, Kafka and MongoDB."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.webhook_ingest.main import create_app
from services.webhook_ingest.settings import WebhookIngestSettings
from services.webhook_ingest.signature import sign
from shared.channels import CHANNELS_COLLECTION
from shared.config import InfraSettings
from tests.integration.serving import served
from tests.unit.webhook_ingest import corpus


def ingest_settings(settings: InfraSettings, **overrides: Any) -> WebhookIngestSettings:
    options: dict[str, Any] = {
        **settings.model_dump(),
        "app_secrets": corpus.SECRET.decode(),
        "verify_token": corpus.VERIFY_TOKEN,
        "max_body_bytes": 64 * 1024,
        "publish_timeout_seconds": 2.0,
        "host": "127.0.0.1",
        "port": 0,
    }
    options.update(overrides)
    return WebhookIngestSettings(**options)


@asynccontextmanager
async def serving(settings: WebhookIngestSettings) -> AsyncIterator[httpx.AsyncClient]:
    """The app under uvicorn (real socket, real lifespan) and a client pointed at it."""
    async with (
        served(create_app(settings)) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client,
    ):
        yield client


@pytest.fixture
async def channels(db: AsyncDatabase[dict[str, Any]]) -> None:
    await db[CHANNELS_COLLECTION].insert_one(corpus.channel().to_document())


async def post_webhook(client: httpx.AsyncClient, body: bytes,
                       signature: str | None = "sign") -> httpx.Response:
    headers = {"content-type": "application/json"}
    if signature == "sign":
        signature = sign(body, corpus.SECRET)
    if signature is not None:
        headers["x-hub-signature-256"] = signature
    return await client.post("/webhook", content=body, headers=headers)
