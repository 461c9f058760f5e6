"""Meta's callback URL: the GET verification handshake and the POST webhook deliveries.

POST is the hot path (Meta sends statuses at three times the outbound volume). It is a bare ASGI
endpoint placed in front of the FastAPI app by :class:`IngestApp`: FastAPI's routing, middleware
and dependency solving cost about 150 µs per request on our 2-core reference machine, more than
verifying, normalizing and publishing a webhook. Everything else (the handshake, /healthz,
/readyz, /metrics) stays on FastAPI. Both read the service from the lifespan state
(``scope["state"]``), where uvicorn puts what the lifespan yielded.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from functools import lru_cache
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import PlainTextResponse

from services.webhook_ingest import metrics
from services.webhook_ingest.errors import (
    InvalidPayload,
    PayloadTooLarge,
    UnsupportedMediaType,
    WebhookIngestError,
)
from services.webhook_ingest.service import IngestService
from shared import tracing
from shared.body_limit import BadContentLength, BodyTooLarge, limited_receive

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


async def get_service(request: Request) -> IngestService:
    """The service the lifespan built.

    ``async`` on purpose: FastAPI runs a plain ``def`` dependency in a thread pool.
    """
    service: IngestService = request.state.service
    return service


ServiceDep = Annotated[IngestService, Depends(get_service)]


def handshake_router(path: str) -> APIRouter:
    router = APIRouter()

    @router.get(path, response_class=PlainTextResponse)
    async def verify(request: Request, service: ServiceDep) -> PlainTextResponse:
        query = request.query_params
        challenge = service.handshake(
            query.get("hub.mode"), query.get("hub.verify_token"), query.get("hub.challenge")
        )
        return PlainTextResponse(challenge)

    return router


class WebhookEndpoint:
    """``POST <path>``: read the body (size-limited), hand it to the service, answer JSON."""

    def __init__(self, max_body_bytes: int) -> None:
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            service: IngestService = scope["state"]["service"]
            check_json_content_type(header(scope, b"content-type"))
            body = await read_body(scope, receive, self.max_body_bytes)
            if body is None:
                return  # the client went away
            with tracing.span("webhook.receive", bytes=len(body)):
                receipt = await service.receive(body, header(scope, b"x-hub-signature-256"))
        except WebhookIngestError as exc:
            if exc.status_code >= 500:
                log.warning("webhook not accepted", extra={"error": exc.code, "detail": exc.detail})
            await send_json(send, exc.status_code, {"error": exc.code, "detail": exc.detail})
            return
        except Exception as exc:
            log.error("unexpected error while receiving a webhook", exc_info=exc)
            await send_json(send, 500, {"error": "internal_error", "detail": type(exc).__name__})
            return
        await send_body(send, 200, _ok(receipt.events))


class IngestApp:
    """The ASGI app uvicorn serves: webhook POSTs to the endpoint, the rest to FastAPI."""

    def __init__(self, api: FastAPI, path: str, endpoint: WebhookEndpoint) -> None:
        self.api = api
        self.path = path
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == self.path:
            await self.endpoint(scope, receive, send)
        else:
            await self.api(scope, receive, send)


@lru_cache(maxsize=64)
def _ok(events: int) -> bytes:
    return orjson.dumps({"status": "ok", "events": events})


def header(scope: Scope, name: bytes) -> str | None:
    """A request header (ASGI gives lowercase names) as text."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def check_json_content_type(value: str | None) -> None:
    """Refuse (415, before reading the body) anything but ``application/json``, parameters such
    as ``; charset=utf-8`` allowed: Meta sends nothing else."""
    media_type = (value or "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        metrics.REQUESTS.labels("unsupported_media_type").inc()
        raise UnsupportedMediaType(
            f"Content-Type must be application/json, got {value or 'none'}"[:200])


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The body, refused with 413 as soon as it (declared or streamed) exceeds ``limit`` bytes
    (shared/body_limit.py, the one copy of that rule)."""
    chunks: list[bytes] = []
    try:
        limited = limited_receive(scope, receive, limit)
        while True:
            message = await limited()
            if message["type"] == "http.disconnect":
                return None
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    except BadContentLength as exc:
        raise InvalidPayload(str(exc)) from None
    except BodyTooLarge as exc:
        metrics.REQUESTS.labels("too_large").inc()
        raise PayloadTooLarge(str(exc)) from None


async def send_json(send: Send, status: int, content: dict[str, Any]) -> None:
    await send_body(send, status, orjson.dumps(content))


async def send_body(send: Send, status: int, body: bytes) -> None:
    """A complete JSON response."""
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())],
    })
    await send({"type": "http.response.body", "body": body})
