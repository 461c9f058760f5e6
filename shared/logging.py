"""Structured JSON logs on stdout, one object per line.

Context goes in ``extra={...}`` (event_id, conversation_id, topic, partition, offset, ...).
Message bodies and phone numbers are never logged at info level: use :func:`mask` for numbers.

Per-message context (trace_id, conversation_id, event_id, command_id) is bound once with
:func:`bound` (a contextvar: every log line inside the block, and in tasks started there, carries
it) instead of repeating it in each ``extra``. A contextvar in the existing formatter rather than
structlog: the same effect without rewriting every logger call (docs/observability.md).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from shared import tracing

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}

_BOUND: ContextVar[dict[str, Any]] = ContextVar("log_context", default={})  # noqa: B039 (never mutated)


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Every log line inside the block carries ``fields`` (None values are left out)."""
    token = _BOUND.set({**_BOUND.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _BOUND.reset(token)


def log_context() -> dict[str, Any]:
    """The fields bound now, with the current trace id when tracing is on."""
    context = _BOUND.get()
    trace_id = tracing.current_trace_id()
    return {**context, "trace_id": trace_id} if trace_id else context


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
            **log_context(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiokafka is chatty at INFO about group membership; keep its warnings.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))


def mask(number: str | None) -> str:
    """A phone number safe for logs: the last 4 digits only."""
    if not number:
        return ""
    return f"***{number[-4:]}"
