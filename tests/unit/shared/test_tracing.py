"""Tracing: off by default and then a no-op; on, the trace context rides in Kafka headers from
the producer to the consumer's records, and log lines carry the bound context and trace id."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import TypeAdapter

from shared import tracing
from shared.consumer import BatchConsumer
from shared.logging import JsonFormatter, bound
from shared.producer import RecoveringProducer


class TestOff:
    def test_is_off_unless_configured(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
        monkeypatch.delenv("TRACING_ENABLED", raising=False)
        assert tracing.configure_tracing("test") is False
        assert not tracing.enabled()

    def test_an_endpoint_or_the_flag_turns_it_on(self) -> None:
        assert tracing.TracingSettings(otel_exporter_otlp_endpoint="http://collector:4318").on
        assert tracing.TracingSettings(tracing_enabled=True).on

    def test_every_helper_is_a_no_op(self) -> None:
        headers = [("a", b"1")]
        assert tracing.inject(headers) is headers
        assert tracing.extract([("traceparent", b"00-" + b"1" * 32 + b"-" + b"2" * 16 + b"-01")]
                               ) is None
        with tracing.span("webhook.receive") as span:
            assert span is None
            assert tracing.current_trace_id() is None


class TestOn:
    def test_inject_then_extract_continues_the_trace(self, spans: InMemorySpanExporter) -> None:
        with tracing.span("webhook.receive"):
            trace_id = tracing.current_trace_id()
            headers = tracing.inject([("x", b"y")])
        assert headers is not None
        assert headers[0] == ("x", b"y")
        assert tracing.trace_id_of(headers) == trace_id
        parent = tracing.extract(headers)
        with tracing.span("conversation.fold", [parent]):
            assert tracing.current_trace_id() == trace_id

    def test_no_span_no_header(self, spans: InMemorySpanExporter) -> None:
        assert tracing.inject(None) is None

    def test_a_batch_joins_its_first_trace_and_links_the_others(
        self, spans: InMemorySpanExporter
    ) -> None:
        contexts = []
        for name in ("one", "two"):
            with tracing.span(name):
                contexts.append(tracing.extract(tracing.inject([])))
        with tracing.span("conversation.fold", contexts):
            pass
        one, two, fold = spans.get_finished_spans()
        assert fold.context is not None
        assert one.context is not None
        assert two.context is not None
        assert fold.context.trace_id == one.context.trace_id
        assert [link.context.trace_id for link in fold.links] == [two.context.trace_id]


class FakeInner:
    def __init__(self) -> None:
        self.headers: list[Any] = []

    async def send(self, topic: str, value: bytes | None, **options: Any) -> asyncio.Future[Any]:
        self.headers.append(options["headers"])
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def test_the_producer_puts_the_current_trace_in_the_headers(
    spans: InMemorySpanExporter
) -> None:
    inner = FakeInner()
    producer = RecoveringProducer(lambda: inner)
    producer._inner = inner  # started, without a broker
    await producer.send_and_wait("t", b"v")
    with tracing.span("send.command"):
        trace_id = tracing.current_trace_id()
        await producer.send_and_wait("t", b"v", headers=[("k", b"v")])
    assert inner.headers[0] is None  # no span: nothing added
    assert inner.headers[1][0] == ("k", b"v")
    assert tracing.trace_id_of(inner.headers[1]) == trace_id


class FakeRecord:
    topic = "t"
    partition = 0
    offset = 7
    key = None
    value = b"1"

    def __init__(self, headers: list[tuple[str, bytes]]) -> None:
        self.headers = headers


async def test_the_consumer_hands_the_records_trace_to_the_handler(
    spans: InMemorySpanExporter
) -> None:
    async def handler(batch: Any) -> None:
        return None

    runner: BatchConsumer[int] = BatchConsumer(
        None, None, TypeAdapter(int), handler, group="g")  # type: ignore[arg-type]
    with tracing.span("webhook.receive"):
        trace_id = tracing.current_trace_id()
        headers = tracing.inject([]) or []
    received = await runner._decode(FakeRecord(headers))
    assert received is not None
    assert received.trace is not None
    with tracing.span("conversation.fold", [received.trace]):
        assert tracing.current_trace_id() == trace_id
    tracing.use_provider(None)
    untraced = await runner._decode(FakeRecord(headers))
    assert untraced is not None
    assert untraced.trace is None


def _line(message: str) -> dict[str, Any]:
    record = logging.LogRecord("x", logging.INFO, "f", 1, message, None, None)
    parsed: dict[str, Any] = json.loads(JsonFormatter("svc").format(record))
    return parsed


def test_log_lines_carry_the_bound_context_and_the_trace_id(
    spans: InMemorySpanExporter
) -> None:
    with bound(conversation_id="c1", event_id="e1", command_id=None):
        line = _line("inside")
        with tracing.span("send.process"):
            traced = _line("traced")
            trace_id = tracing.current_trace_id()
    assert line["conversation_id"] == "c1"
    assert line["event_id"] == "e1"
    assert "command_id" not in line
    assert "trace_id" not in line
    assert traced["trace_id"] == trace_id
    assert "conversation_id" not in _line("after")
