"""OpenTelemetry tracing, off unless configured; W3C trace context carried in Kafka headers.

On when ``TRACING_ENABLED=true`` or ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (the standard OTEL
variables then configure the OTLP/HTTP exporter: endpoint, headers, ``OTEL_SERVICE_NAME``).
Off, every helper here returns after one module-global check: no tracer, no header, no span
object (the Kafka plumbing calls them per record; docs/observability.md).

The producer (shared/producer.py) injects ``traceparent`` into every record it sends while a span
is current; the consumer loop (shared/consumer.py) extracts it onto each :class:`Received`, and
the handlers open their spans (``conversation.fold``, ``send.command``, ...) under it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, Span, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pydantic_settings import BaseSettings, SettingsConfigDict

_PROPAGATOR = TraceContextTextMapPropagator()
_TRACER: Tracer | None = None  # None: tracing is off


class TracingSettings(BaseSettings):
    """Whether to trace, read from the standard OTEL variables (no prefix)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    tracing_enabled: bool = False
    otel_exporter_otlp_endpoint: str | None = None
    otel_service_name: str | None = None

    @property
    def on(self) -> bool:
        return self.tracing_enabled or bool(self.otel_exporter_otlp_endpoint)


def configure_tracing(service: str, settings: TracingSettings | None = None) -> bool:
    """Start tracing for this process when configured (batched OTLP/HTTP export); True if on."""
    settings = settings if settings is not None else TracingSettings()
    if not settings.on:
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(
        resource=Resource.create({"service.name": settings.otel_service_name or service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    use_provider(provider)
    return True


def use_provider(provider: trace.TracerProvider | None) -> None:
    """Trace through ``provider`` (tests pass one with an in-memory exporter); None: off."""
    global _TRACER
    _TRACER = None if provider is None else provider.get_tracer("whatsapp-inbox")


def enabled() -> bool:
    return _TRACER is not None


def inject(headers: list[tuple[str, bytes]] | None) -> list[tuple[str, bytes]] | None:
    """``headers`` plus the current span's ``traceparent`` (unchanged when off or no span)."""
    if _TRACER is None or not trace.get_current_span().get_span_context().is_valid:
        return headers
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return [*(headers or ()), *((k, v.encode()) for k, v in carrier.items())]


def extract(headers: Sequence[tuple[str, bytes]] | None) -> otel_context.Context | None:
    """The trace context a record's headers carry (None when off or when they carry none)."""
    if _TRACER is None or not headers:
        return None
    carrier = {k: v.decode("latin-1") for k, v in headers if k in ("traceparent", "tracestate")}
    if "traceparent" not in carrier:
        return None
    return _PROPAGATOR.extract(carrier)


_OFF: AbstractContextManager[None] = contextlib.nullcontext()  # reusable: no object per call


def span(name: str, parents: Sequence[otel_context.Context | None] = (),
         **attributes: Any) -> AbstractContextManager[Span | None]:
    """A span named in product words, current inside the block (None when off).

    ``parents`` are the contexts of the records it handles: the first is its parent (the span
    joins that trace), the others become links (a batch spans several traces)."""
    if _TRACER is None:
        return _OFF
    return _span(_TRACER, name, parents, attributes)


@contextlib.contextmanager
def _span(tracer: Tracer, name: str, parents: Sequence[otel_context.Context | None],
          attributes: dict[str, Any]) -> Iterator[Span]:
    contexts = [c for c in parents if c is not None]
    parent = contexts[0] if contexts else None
    links = [Link(s) for c in contexts[1:]
             if (s := trace.get_current_span(c).get_span_context()).is_valid]
    attrs = {k: v for k, v in attributes.items() if v is not None}
    with tracer.start_as_current_span(name, context=parent, links=links,
                                      attributes=attrs) as current:
        yield current


def current_trace_id() -> str | None:
    """The current span's trace id (32 hex digits), None when off or outside a span."""
    if _TRACER is None:
        return None
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


def trace_id_of(headers: Sequence[tuple[str, bytes]] | None) -> str | None:
    """The trace id in a record's ``traceparent`` header (works with tracing off: for tests)."""
    for key, value in headers or ():
        if key == "traceparent":
            parts = value.decode("latin-1").split("-")
            return parts[1] if len(parts) == 4 else None
    return None
