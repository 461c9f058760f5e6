"""Tracing across the hops, on the real broker and database, the services in this process:
one webhook's trace reaches the store's write and its change notice; one send's reaches the
Cloud API call (spans caught by an in-memory exporter)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.inbox_api.adapters.kafka import KafkaCommandPublisher
from shared import tracing
from shared.config import InfraSettings
from shared.events.topics import INBOX_CONVERSATIONS
from tests.integration.kafka_tools import read_topic
from tests.integration.outbound_sender.conftest import (
    CHANNEL,
    CUSTOMER,
    inbox,
    prepare_database,
    template,
)

pytestmark = pytest.mark.integration


def trace_ids(exporter: InMemorySpanExporter, name: str) -> set[str]:
    return {_hex(s) for s in exporter.get_finished_spans() if s.name == name}


def _hex(span: ReadableSpan) -> str:
    assert span.context is not None
    return format(span.context.trace_id, "032x")


async def eventually(found: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll until ``found()`` is truthy (or the timeout passed); returns its last value."""
    for _ in range(int(timeout / 0.1)):
        if value := found():
            return value
        await asyncio.sleep(0.1)
    return found()


async def test_a_webhooks_trace_reaches_the_store_write_and_the_change_notice(
    settings: InfraSettings, producer: Any, db: Any, spans: InMemorySpanExporter
):
    await prepare_database(db)
    async with inbox(settings, producer, sender=False) as rig:
        await rig.sandbox.customer_says(CHANNEL.phone_number_id, CUSTOMER, "Hello, a trace")
        notices = await read_topic(settings, INBOX_CONVERSATIONS, min_records=1)
        notice_traces = {tracing.trace_id_of(n.headers) for n in notices} - {None}

        def joined() -> set[str]:
            return (trace_ids(spans, "webhook.receive") & trace_ids(spans, "conversation.save")
                    & notice_traces)

        # One webhook's trace id: on the store's write span and on the notice's traceparent.
        assert await eventually(joined)
        [trace_id] = list(joined())[:1]
        save = [s for s in spans.get_finished_spans()
                if s.name == "conversation.save" and _hex(s) == trace_id]
        assert save
        assert save[0].parent is not None


async def test_a_sends_trace_reaches_the_cloud_api_call(
    settings: InfraSettings, producer: Any, db: Any, spans: InMemorySpanExporter
):
    await prepare_database(db)
    async with inbox(settings, producer, with_customers=False) as rig:
        # As inbox_api queues a send: its send.command span's context goes in the record.
        await KafkaCommandPublisher(producer, settings).publish(template("traced-1"))
        [accepted] = (await rig.outcomes(1))["traced-1"]
        assert accepted.type == "outbound.accepted"

        def joined() -> set[str]:
            return trace_ids(spans, "send.command") & trace_ids(spans, "cloud_api.call")

        assert await eventually(joined)
        [command_span] = [s for s in spans.get_finished_spans() if s.name == "send.command"]
        assert command_span.attributes is not None
        assert command_span.attributes["command_id"] == "traced-1"
        [call] = [s for s in spans.get_finished_spans() if s.name == "cloud_api.call"]
        assert call.attributes is not None
        assert call.attributes["http.response.status_code"] == 200
