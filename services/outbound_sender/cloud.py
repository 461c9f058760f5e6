"""The Cloud API as the sender sees it: one port, and what an attempt can come back with.

Four answers, because "did Meta take it?" has three truthful replies plus an error:
:class:`Accepted` (yes), :class:`Rejected` (Meta said no, with its error), :class:`NotSent` (the
request never left: nothing to doubt, safe to retry) and :class:`InDoubt` (the request may have
reached Meta and we will never know: never resent).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Protocol

from services.outbound_sender import metrics
from shared.channels import Channel
from shared.events import JsonObject, MetaError


@dataclass(frozen=True, slots=True)
class Accepted:
    """Meta accepted the request. ``wamid`` is None for a mark-as-read."""

    wamid: str | None
    message_status: str | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    """Meta answered with an error (or an HTTP error without Meta's envelope: ``error`` None)."""

    http_status: int
    error: MetaError | None
    retry_after_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class NotSent:
    """The request never reached Meta (no connection): safe to try again."""

    reason: str


@dataclass(frozen=True, slots=True)
class InDoubt:
    """The request may have reached Meta but no answer came back: never resent."""

    reason: str


Answer = Accepted | Rejected | NotSent | InDoubt


class CloudApi(Protocol):
    """POST ``/{phone_number_id}/messages`` on the Cloud API (or the sandbox)."""

    async def post_message(self, channel: Channel, body: JsonObject) -> Answer:
        """Send one request body for ``channel``; never raises for network or HTTP errors."""


async def call_within(cloud: CloudApi, channel: Channel, body: JsonObject,
                      deadline_seconds: float) -> Answer:
    """One call that never takes longer than the deadline (then it is in doubt), timed."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(deadline_seconds):
            answer = await cloud.post_message(channel, body)
    except TimeoutError:
        answer = InDoubt(f"no answer within {deadline_seconds:g} s")
    metrics.CLOUD_API_SECONDS.labels(type(answer).__name__.lower()).observe(
        time.monotonic() - started)
    return answer
