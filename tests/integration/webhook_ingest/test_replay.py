"""Replay: raw webhooks on whatsapp.webhooks.raw.v1 -> events on whatsapp.inbound.v1 again."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.webhook_ingest.normalize import normalize
from services.webhook_ingest.payload import parse_webhook
from services.webhook_ingest.ports import RawWebhook
from services.webhook_ingest.replay import StartAt, replay
from services.webhook_ingest.signature import sign
from shared.config import InfraSettings
from shared.events import INBOUND_EVENTS
from shared.events.topics import WHATSAPP_INBOUND, WHATSAPP_WEBHOOKS_RAW
from tests.integration.kafka_tools import read_topic
from tests.unit.webhook_ingest import corpus

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
NOW = datetime.now(UTC)
AN_HOUR_AGO = NOW - timedelta(hours=1)


async def keep_raw(producer: Any, settings: InfraSettings, name: str, at: datetime) -> bytes:
    """Put a body on the raw topic as the service does, stamped with its receive time."""
    body = corpus.body(name)
    raw = RawWebhook(body, sign(body, corpus.SECRET), at, corpus.WABA_ID)
    await producer.send_and_wait(settings.topic(WHATSAPP_WEBHOOKS_RAW), body, key=raw.key(),
                                 headers=raw.headers(), timestamp_ms=int(at.timestamp() * 1000))
    return body


def ids_of(records: list[Any]) -> list[str]:
    return [str(INBOUND_EVENTS.validate_json(r.value).event_id) for r in records]


def expected_ids(name: str, salt: str = "") -> list[str]:
    payload = parse_webhook(corpus.body(name))
    return [str(e.event_id) for e in
            normalize(payload, corpus.directory(), NOW, salt=salt).events]


class TestReplay:
    async def test_republishes_the_events_of_raw_webhooks_from_a_time(
        self, settings: InfraSettings, producer: Any
    ) -> None:
        await keep_raw(producer, settings, "message_text", AN_HOUR_AGO)
        await keep_raw(producer, settings, "batch_mixed", NOW)

        report = await replay(settings, corpus.directory(), producer,
                              StartAt(time=NOW - timedelta(minutes=30)))

        assert report.records == 1
        assert report.events == {"message.received": 2, "status.changed": 1,
                                 "template.quality_changed": 1}
        assert report.unassigned == {"waba:209876543210987"}
        records = await read_topic(settings, WHATSAPP_INBOUND, min_records=4)
        assert sorted(ids_of(records)) == sorted(expected_ids("batch_mixed"))
        assert all(r.key for r in records)

    async def test_from_the_beginning_with_the_same_ids_or_salted_new_ones(
        self, settings: InfraSettings, producer: Any
    ) -> None:
        await keep_raw(producer, settings, "message_text", AN_HOUR_AGO)
        await keep_raw(producer, settings, "status_failed", NOW)

        await replay(settings, corpus.directory(), producer, StartAt())
        await replay(settings, corpus.directory(), producer, StartAt(), salt="fix-1")

        ids = ids_of(await read_topic(settings, WHATSAPP_INBOUND, min_records=4))
        plain = expected_ids("message_text") + expected_ids("status_failed")
        salted = expected_ids("message_text", "fix-1") + expected_ids("status_failed", "fix-1")
        assert sorted(ids) == sorted(plain + salted)

    async def test_until_and_offsets_bound_what_is_read(
        self, settings: InfraSettings, producer: Any
    ) -> None:
        for name in ("message_text", "message_image", "message_audio"):
            await keep_raw(producer, settings, name, AN_HOUR_AGO)
        report = await replay(settings, corpus.directory(), None, StartAt(),
                              until=AN_HOUR_AGO - timedelta(minutes=1))
        assert report.records == 0
        everything = await replay(settings, corpus.directory(), None, StartAt(offset=0))
        assert everything.records == 3
        past_the_end = await replay(settings, corpus.directory(), None, StartAt(offset=10))
        assert past_the_end.records == 0

    async def test_the_command_line(
        self, settings: InfraSettings, producer: Any, channels: None
    ) -> None:
        await keep_raw(producer, settings, "message_location", NOW)
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
               "MONGODB_URI": settings.mongodb_uri, "MONGODB_DATABASE": settings.mongodb_database,
               "KAFKA_TOPIC_PREFIX": settings.topic_prefix}
        since = (NOW - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.webhook_ingest.replay", "--from", since,
            cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, stderr.decode()
        report = json.loads(stdout.decode().strip().splitlines()[-1])
        assert report["records"] == 1
        assert report["events"] == {"message.received": 1}
        assert report["unassigned"] == []  # the channel directory came from MongoDB
        (record,) = await read_topic(settings, WHATSAPP_INBOUND)
        event = INBOUND_EVENTS.validate_json(record.value)
        assert event.tenant_id == corpus.TENANT
        assert str(event.event_id) == expected_ids("message_location")[0]
