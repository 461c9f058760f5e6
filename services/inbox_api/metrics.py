"""Prometheus metrics of inbox_api (served on ``/metrics``).

Requests are labelled by route template (``/api/v1/conversations/{conversation_id}``), never by
the raw path, so the number of series stays bounded whatever ids clients send.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "inbox_api_requests_total", "HTTP requests by method, route template and status",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "inbox_api_request_seconds", "Time to the response's first byte, by route template",
    ["route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
STREAM_CLIENTS = Gauge("inbox_api_stream_clients", "Open live-update (SSE) connections")
COMMANDS = Counter(
    "inbox_api_commands_total", "Commands published to inbox.commands.v1, by type", ["type"]
)
REFUSED = Counter(
    "inbox_api_sends_refused_total", "Sends refused by the window pre-check, by reason",
    ["reason"],
)
MEDIA_SERVED = Counter(
    "inbox_api_media_served_total",
    "Media downloads served, by source: the archive, or WhatsApp's copy (not archived yet)",
    ["source"],
)
AUDIT_ENTRIES = Counter(
    "inbox_api_audit_entries_total",
    "Audit entries by outcome: written, or dropped (queue full, write failed)", ["outcome"],
)

# Everything the API does not route (the web inbox's files) shares one label.
STATIC_ROUTE = "static"


def route_template(app: Any, scope: Scope) -> str:
    """The path template of the route that serves ``scope``, or ``static``.

    After routing, the router leaves the matched route in the scope; its path is the one it was
    declared with, without the prefix its router was included under (FastAPI includes routers
    lazily), so the prefix is the part of the request's path before the route matches."""
    route = scope.get("route")
    if route is not None:
        return _with_prefix(route, str(scope.get("path") or ""))
    for route in getattr(app, "routes", ()):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return _with_prefix(route, str(scope.get("path") or ""))
    return STATIC_ROUTE


def _with_prefix(route: Any, path: str) -> str:
    template = getattr(route, "path", None)
    if not template or getattr(route, "name", "") == "web":
        return STATIC_ROUTE
    regex = getattr(route, "path_regex", None)
    if regex is None or regex.match(path):
        return str(template)
    for at, char in enumerate(path):
        if char == "/" and at and regex.match(path[at:]):
            return path[:at] + str(template)
    return str(template)


class MetricsMiddleware:
    """Counts every HTTP request and times it to the first byte of the response.

    Pure ASGI (not ``BaseHTTPMiddleware``), so streamed responses such as the event stream pass
    through untouched; the event stream is counted when its headers go out."""

    def __init__(self, app: ASGIApp, router_owner: Any) -> None:
        self.app = app
        self.router_owner = router_owner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method = scope.get("method", "GET")
        reported = False

        async def send_and_count(message: Message) -> None:
            nonlocal reported
            if message["type"] == "http.response.start" and not reported:
                reported = True
                # Read when the answer starts: by then the router has left its route in scope.
                route = route_template(self.router_owner, scope)
                REQUESTS.labels(method, route, str(message["status"])).inc()
                REQUEST_SECONDS.labels(route).observe(time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, send_and_count)
        except Exception:
            if not reported:
                REQUESTS.labels(method, route_template(self.router_owner, scope), "500").inc()
            raise
