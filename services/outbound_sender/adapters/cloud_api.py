"""The Cloud API over httpx: one POST per attempt, every outcome turned into an answer value.

What a transport failure means for "was it sent?":
- no connection was made (refused, DNS, connect timeout, no free pooled connection): not sent;
- anything after the request started going out (read or write timeout, connection dropped,
  protocol error): in doubt. The request may have reached Meta, so it is never resent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import httpx
import orjson

from services.outbound_sender.cloud import Accepted, Answer, InDoubt, NotSent, Rejected
from services.outbound_sender.retry import parse_retry_after
from shared import tracing
from shared.channels import Channel
from shared.events import JsonObject, MetaError

NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout,
                   httpx.UnsupportedProtocol)
_CODE_PREFIX = re.compile(r"^\(#\d+\)\s*")


class HttpCloudApi:
    """``POST {base_url}/{phone_number_id}/messages`` with the channel's bearer token.

    Requests go straight to httpx transports (no client: the Cloud API needs no cookies,
    redirects or auth flows, and skipping them halves the cost of a request), spread over several
    small connection pools filled in order, the first with a free connection first: on each
    request httpcore's pool checks every idle connection of its own, which in a pool of hundreds
    costs more than the request itself; the later pools stay idle and out of the way.
    """

    def __init__(self, base_url: str, transports: Sequence[httpx.AsyncBaseTransport],
                 clock: Callable[[], datetime], *, connections_per_transport: int,
                 timeout: httpx.Timeout) -> None:
        if not transports:
            raise ValueError("at least one transport")
        self.base_url = base_url.rstrip("/")
        self.transports = list(transports)
        self.clock = clock
        self.per_transport = connections_per_transport
        self._timeout = {"timeout": timeout.as_dict()}
        self._busy = [0] * len(self.transports)
        self._urls: dict[str, httpx.URL] = {}

    async def post_message(self, channel: Channel, body: JsonObject) -> Answer:
        url = self._urls.get(channel.phone_number_id)
        if url is None:
            url = self._urls[channel.phone_number_id] = httpx.URL(
                f"{self.base_url}/{channel.phone_number_id}/messages")
        request = httpx.Request("POST", url, content=orjson.dumps(body), headers={
            "Authorization": f"Bearer {channel.access_token.get_secret_value()}",
            "Content-Type": "application/json",
        }, extensions=self._timeout)
        shard = self._pick()
        self._busy[shard] += 1
        # A span of our own for the call; no traceparent goes to Meta (a third party).
        with tracing.span("cloud_api.call", phone_number_id=channel.phone_number_id) as span:
            try:
                response = await self.transports[shard].handle_async_request(request)
                content = await response.aread()
            except NOT_SENT_ERRORS as exc:
                return NotSent(f"{type(exc).__name__}: {exc}" if str(exc)
                               else type(exc).__name__)
            except httpx.TransportError as exc:
                return InDoubt(f"{type(exc).__name__}: {exc}" if str(exc)
                               else type(exc).__name__)
            finally:
                self._busy[shard] -= 1
            if span is not None:
                span.set_attribute("http.response.status_code", response.status_code)
        return parse_answer(response.status_code, content, response.headers.get("retry-after"),
                            self.clock())

    def _pick(self) -> int:
        for shard, busy in enumerate(self._busy):
            if busy < self.per_transport:
                return shard
        return min(range(len(self._busy)), key=self._busy.__getitem__)

    async def aclose(self) -> None:
        for transport in self.transports:
            await transport.aclose()


def parse_answer(status: int, content: bytes, retry_after: str | None, now: datetime) -> Answer:
    """An HTTP answer of the messages endpoint as an :data:`Answer` (pure)."""
    try:
        data: Any = orjson.loads(content) if content else None
    except orjson.JSONDecodeError:
        data = None
    if 200 <= status < 300:
        if isinstance(data, dict):
            messages = data.get("messages")
            if isinstance(messages, list) and messages and isinstance(messages[0], dict):
                wamid = messages[0].get("id")
                if isinstance(wamid, str) and wamid:
                    pacing = messages[0].get("message_status")
                    return Accepted(wamid, pacing if isinstance(pacing, str) else None)
            if data.get("success") is True:
                return Accepted(None)
        return InDoubt(f"HTTP {status} with an answer that names no message")
    return Rejected(status, meta_error(data), parse_retry_after(retry_after, now))


def meta_error(data: Any) -> MetaError | None:
    """Meta's error envelope ``{"error": {"code", "message", "error_data": {"details"}}}``."""
    if not isinstance(data, dict) or not isinstance(data.get("error"), dict):
        return None
    error = data["error"]
    try:
        code = int(error["code"])
    except (KeyError, TypeError, ValueError):
        return None
    message = error.get("message") if isinstance(error.get("message"), str) else None
    title = error.get("error_user_title") or error.get("title")
    if not isinstance(title, str) or not title:
        title = _CODE_PREFIX.sub("", message) if message else None
    user_message = error.get("error_user_msg")
    error_data = error.get("error_data")
    details = error_data.get("details") if isinstance(error_data, dict) else None
    href = error.get("href")
    return MetaError(
        code=code,
        title=title or None,
        message=user_message if isinstance(user_message, str) and user_message else message,
        details=details if isinstance(details, str) else None,
        href=href if isinstance(href, str) else None,
    )
