"""``POST /{version}/{phone_number_id}/messages``: the Cloud API's send endpoint.

A bare ASGI endpoint in front of the FastAPI app (like webhook_ingest's webhook endpoint):
FastAPI's routing and dependency solving would cost more per request than the sandbox's own
work, and this path must sustain the sender benchmark's 1,000+ requests/s on two cores. Every
other path (the other Graph endpoints, the control API, /healthz, /readyz, /metrics) goes to
FastAPI. The service comes from the lifespan state (``scope["state"]``).

A Graph path with a version Meta does not serve is answered here, for every endpoint alike
(Meta's 2500), before any routing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI

from sandbox.errors import CloudApiError
from sandbox.graph_paths import (
    SUPPORTED_VERSIONS,
    VERSION_SHAPE,
    first_segment,
    is_graph_path,
    version_refusal,
)
from sandbox.service import JSON_HEADERS, Sandbox

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY_BYTES = 4_000_000


def send_path(path: str) -> str | None:
    """The phone_number_id of ``/{version}/{phone_number_id}/messages`` with a version the
    sandbox serves, else None."""
    parts = path.split("/")
    if (len(parts) == 4 and parts[3] == "messages" and parts[2]
            and parts[1] in SUPPORTED_VERSIONS):
        return parts[2]
    return None


class SandboxApp:
    """The ASGI app uvicorn serves: send requests to the fast path, the rest to FastAPI."""

    def __init__(self, api: FastAPI) -> None:
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if scope["method"] == "POST":
                phone_number_id = send_path(path)
                if phone_number_id is not None:
                    await self._send_request(phone_number_id, scope, receive, send)
                    return
            version = first_segment(path)
            if VERSION_SHAPE.fullmatch(version) and is_graph_path(path):
                refusal = version_refusal(version)
                if refusal is not None:
                    await _respond(send, refusal.http_status, refusal.body(), JSON_HEADERS)
                    return
        await self.api(scope, receive, send)

    async def _send_request(self, phone_number_id: str, scope: Scope, receive: Receive,
                            send: Send) -> None:
        sandbox: Sandbox = scope["state"]["sandbox"]
        body = await _read_body(receive)
        if body is None:
            return  # the client went away
        if len(body) > MAX_BODY_BYTES:
            error = CloudApiError(100, f"The request body is over {MAX_BODY_BYTES} bytes.")
            await _respond(send, error.http_status, error.body(), JSON_HEADERS)
            return

        async def client_gone() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        reply = await sandbox.send(phone_number_id, _authorization(scope), body, client_gone)
        await _respond(send, reply.status, reply.body, reply.headers)


def _authorization(scope: Scope) -> str | None:
    for key, value in scope["headers"]:
        if key == b"authorization":
            return bytes(value).decode("latin-1")
    return None


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _respond(send: Send, status: int, body: bytes,
                   headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
