"""Request bodies limited while they stream in, never after reading them whole.

:func:`limited_receive` wraps an ASGI ``receive``: an honest ``Content-Length`` over the limit is
refused before a byte is read, and a body that keeps coming (chunked, or lying about its length)
is refused on the chunk that crosses the limit. :class:`BodyLimitMiddleware` applies it to the
routes that take large bodies and answers 413 with a message naming the limit. webhook_ingest
reads its body through :func:`limited_receive` on its bare ASGI endpoint; inbox_api mounts the
middleware for the campaign CSV upload and the attachment upload.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLarge(Exception):
    """The request body is (or declares to be) over ``limit`` bytes."""

    def __init__(self, limit: int, declared: int | None = None) -> None:
        self.limit = limit
        self.declared = declared
        size = f"{declared} bytes" if declared is not None else "over the limit"
        super().__init__(f"The request body is {size}; the limit here is "
                         f"{format_limit(limit)} ({limit} bytes).")


class BadContentLength(ValueError):
    """``Content-Length`` is not a number."""


def format_limit(limit: int) -> str:
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if limit >= size and limit % size == 0:
            return f"{limit // size} {unit}"
    return f"{limit} bytes"


def declared_length(scope: Scope) -> int | None:
    for key, value in scope["headers"]:
        if key == b"content-length":
            text = bytes(value).decode("latin-1").strip()
            if not text.isdigit():
                raise BadContentLength("Content-Length is not a number")
            return int(text)
    return None


def limited_receive(scope: Scope, receive: Receive, limit: int) -> Receive:
    """``receive`` that raises :class:`BodyTooLarge` as soon as the body passes ``limit``."""
    declared = declared_length(scope)
    if declared is not None and declared > limit:
        raise BodyTooLarge(limit, declared)
    seen = 0

    async def receive_limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return receive_limited


@dataclass(frozen=True)
class BodyLimit:
    """``limit`` bytes for requests of ``method`` whose path matches ``path`` (a regex)."""

    method: str
    path: str
    limit: int

    def applies(self, scope: Scope) -> bool:
        return scope["method"] == self.method and re.fullmatch(self.path, scope["path"]) is not None


def default_render(exc: BodyTooLarge) -> dict[str, Any]:
    return {"error": "payload_too_large", "detail": str(exc)}


class BodyLimitMiddleware:
    """413 for a body over its route's limit: before reading when declared, else mid-stream."""

    def __init__(self, app: ASGIApp, limits: Sequence[BodyLimit],
                 render: Callable[[BodyTooLarge], dict[str, Any]] = default_render,
                 on_refused: Callable[[], None] = lambda: None) -> None:
        self.app = app
        self.limits = tuple(limits)
        self.render = render
        self.on_refused = on_refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = next((r for r in self.limits if r.applies(scope)), None) \
            if scope["type"] == "http" else None
        if rule is None:
            await self.app(scope, receive, send)
            return
        try:
            limited = limited_receive(scope, receive, rule.limit)
        except BodyTooLarge as exc:  # declared: refused before a byte is read
            self.on_refused()
            await self._refuse(send, exc)
            return
        except BadContentLength as exc:
            await _send_json(send, 400, {"error": "bad_request", "detail": str(exc)})
            return
        started = refused = False

        async def guarded_receive() -> Message:
            nonlocal refused
            try:
                return await limited()
            except BodyTooLarge as exc:
                # Answered here, at once: whatever the app makes of the exception (a 500 from
                # Starlette's error middleware, or its own 413) is swallowed below.
                if not started and not refused:
                    refused = True
                    self.on_refused()
                    await self._refuse(send, exc)
                raise

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, tracking_send)
        except Exception:
            if not refused:
                raise

    async def _refuse(self, send: Send, exc: BodyTooLarge) -> None:
        await _send_json(send, 413, self.render(exc))


async def _send_json(send: Send, status: int, content: dict[str, Any]) -> None:
    body = orjson.dumps(content)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
