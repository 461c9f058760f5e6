"""``GET /media/{id}``: a message's media, fetched from the Cloud API with the tenant's token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import StreamingResponse

from services.inbox_api.deps import Caller, Media, Queries
from services.inbox_api.errors import NotFound, error_responses

router = APIRouter(tags=["media"])


@router.get("/media/{media_id}", response_class=StreamingResponse,
            responses={200: {"content": {"application/octet-stream": {}},
                             "description": "The media's bytes"},
                       **error_responses(401, 404, 422, 503)})
async def media(caller: Caller, queries: Queries, source: Media,
                media_id: Annotated[str, Path(min_length=1, max_length=200,
                                              pattern=r"^[A-Za-z0-9_.-]+$")]
                ) -> StreamingResponse:
    # Only media of the tenant's own messages; the message says which number's token to use.
    channel = await queries.media_channel(caller, media_id)
    if channel is None:
        raise NotFound("No such media.", code="media_not_found")
    stack = AsyncExitStack()
    download = await stack.enter_async_context(source.download(channel, media_id))

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in download.body:
                yield chunk
        finally:
            await stack.aclose()

    headers = {"Cache-Control": "private, max-age=300"}
    if download.length is not None:
        headers["Content-Length"] = str(download.length)
    return StreamingResponse(body(), media_type=download.mime_type, headers=headers)
