"""Meta's media endpoints: ``POST /{version}/{phone_number_id}/media`` (a multipart upload:
``messaging_product=whatsapp``, ``file``, ``type``) answers ``{"id": ...}``, and the download URL
that ``GET /{version}/{media_id}`` hands out serves the bytes to a channel's access token.

Metadata and deletion are ``GET``/``DELETE /{version}/{id}`` (:mod:`sandbox.routers.objects`);
the rules are in :mod:`sandbox.graph_objects` and :mod:`sandbox.media`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from sandbox.errors import CloudApiError
from sandbox.media import DOWNLOAD_PATH
from sandbox.routers.objects import Authorization, GraphDep, answer, error_response


def media_router() -> APIRouter:
    router = APIRouter(tags=["Cloud API media"])

    @router.post("/{version:graph_version}/{phone_number_id}/media")
    async def upload(request: Request, version: str, phone_number_id: str, graph: GraphDep,
                     authorization: Authorization = None) -> Response:
        """Store a file for 30 days; ``{"id": ...}`` to send it with."""
        body = await request.body()
        content_type = request.headers.get("content-type", "")
        return answer(lambda: graph.upload(phone_number_id, authorization, content_type, body))

    @router.get(DOWNLOAD_PATH, name="media_download")
    async def download(graph: GraphDep, mid: str = "", ext: str = "",
                       signature: Annotated[str, Query(alias="hash")] = "",
                       authorization: Authorization = None) -> Response:
        """The bytes behind a media URL (valid 5 minutes; 404 after: fetch a fresh URL)."""
        try:
            found = graph.download(mid, ext, signature, authorization)
        except CloudApiError as error:  # a token of no channel: 190, as on every route
            return error_response(error)
        if found is None:
            return error_response(CloudApiError(
                100, "The media URL expired, or the media no longer exists: get a fresh URL "
                "with GET /{media_id}.", http_status=404))
        data, mime_type = found
        return Response(data, media_type=mime_type)

    return router
