"""The browser's security headers on every response of inbox_api (the web inbox, its static files
and the API): a Content-Security-Policy that allows only the inbox's own origin (no inline
script or style; media previews are ``blob:`` URLs, the favicon may be ``data:``), no framing
(``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``, so a hostile page cannot frame a
signed-in inbox), ``nosniff`` and ``Referrer-Policy: no-referrer``.

A pure ASGI middleware: it adds headers to ``http.response.start`` and never buffers a body, so
the event stream and media downloads pass through untouched. The interactive API docs (only
served when ``INBOX_API_API_DOCS`` is on) load Swagger UI from its CDN with an inline script, so
that one path gets its own, wider policy; it still may not be framed.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

INBOX_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob: data:",
    "media-src 'self' blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
# FastAPI's Swagger UI page (local development only): its bundle and style from jsDelivr, one
# inline boot script, and the styles its components inject.
DOCS_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' https://cdn.jsdelivr.net 'unsafe-inline'",
    "style-src 'self' https://cdn.jsdelivr.net 'unsafe-inline'",
    "img-src 'self' data: https://fastapi.tiangolo.com",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
])
DOCS_PATH = "/api/docs"

_COMMON: tuple[tuple[bytes, bytes], ...] = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)


def headers_for(path: str) -> list[tuple[bytes, bytes]]:
    """The security headers of a response to ``path``."""
    policy = DOCS_POLICY if path == DOCS_PATH or path.startswith(DOCS_PATH + "/") \
        else INBOX_POLICY
    return [(b"content-security-policy", policy.encode()), *_COMMON]


class SecurityHeadersMiddleware:
    """Adds :func:`headers_for` to every HTTP response (replacing any the app set itself)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = headers_for(scope.get("path", ""))
        names = {name for name, _ in extra}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", [])
                        if k.lower() not in names]
                message = {**message, "headers": [*kept, *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
