"""``GET /stream``: Server-Sent Events of the caller's tenant's conversation changes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse

from services.inbox_api.deps import Caller, Hub, Queries, Settings
from services.inbox_api.errors import error_responses
from services.inbox_api.metrics import STREAM_CLIENTS
from services.inbox_api.stream import Change, event_stream

router = APIRouter(tags=["live"])


@router.get("/stream", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "`ready`, `conversation.changed`, `resync` events"},
                       **error_responses(401)})
async def stream(
    caller: Caller, hub: Hub, queries: Queries, settings: Settings,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=4000)] = None,
) -> StreamingResponse:
    """Live conversation changes; reconnect with ``Last-Event-ID`` to resume without gaps."""
    subscription = hub.subscribe(caller.tenant_id, last_event_id)
    tenant = caller.tenant_id

    async def render(change: Change) -> dict[str, Any] | None:
        return await queries.render_change(tenant, change, hub.reads)

    return StreamingResponse(
        _counted(event_stream(hub, subscription, render, settings.stream_ping_seconds)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _counted(frames: AsyncIterator[str]) -> AsyncIterator[str]:
    """The stream, counted in the open-connections gauge while it runs."""
    STREAM_CLIENTS.inc()
    try:
        async for text in frames:
            yield text
    finally:
        STREAM_CLIENTS.dec()
