"""Meta's Graph object endpoints, and Meta's error envelope for every Graph path FastAPI serves.

- ``GET /{version}/{id}``: a business number, a medium or a template (``fields=``).
- ``DELETE /{version}/{media_id}``: ``{"success": true}``.
- ``GET /{version}/{waba_id}/phone_numbers``: the account's numbers (``fields=``).
- ``GET``/``POST /{version}/{phone_number_id}/whatsapp_business_profile``.

The rules are in :mod:`sandbox.graph_objects`. :func:`install_graph_errors` makes FastAPI's own
refusals on Graph paths (no route, wrong method, bad query) Meta's envelope instead of
``{"detail": ...}``; the control API keeps FastAPI's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Header, Request, Response
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException as StarletteHTTPException

from sandbox.errors import CloudApiError
from sandbox.graph_objects import GraphObjects
from sandbox.graph_paths import VERSION_SHAPE, is_graph_path, unrouted

Authorization = Annotated[str | None, Header()]


class _GraphVersion(Convertor[str]):
    """``{version:graph_version}``: only ``v25.0``-shaped segments, so Graph routes never
    shadow the control API's paths (a wrong method there stays FastAPI's 405)."""

    regex = VERSION_SHAPE.pattern

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


def use_graph_version_paths() -> None:
    """Make ``{version:graph_version}`` usable in route paths (idempotent)."""
    register_url_convertor("graph_version", _GraphVersion())


async def get_graph(request: Request) -> GraphObjects:
    graph: GraphObjects = request.state.graph
    return graph


GraphDep = Annotated[GraphObjects, Depends(get_graph)]


def error_response(error: CloudApiError) -> Response:
    return Response(error.body(), status_code=error.http_status, media_type="application/json",
                    headers={k.decode(): v.decode() for k, v in error.headers()})


def answer(call: Callable[[], dict[str, Any]]) -> Response:
    """Run a Graph call: its JSON, or Meta's error envelope with Meta's status."""
    try:
        return Response(orjson.dumps(call()), media_type="application/json")
    except CloudApiError as error:
        return error_response(error)


def json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise CloudApiError(100, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise CloudApiError(100, "The request body must be a JSON object.")
    return body


def objects_router() -> APIRouter:
    use_graph_version_paths()
    router = APIRouter(tags=["Cloud API objects"])

    @router.get("/{version:graph_version}/{object_id}")
    async def get_object(request: Request, version: str, object_id: str, graph: GraphDep,
                         authorization: Authorization = None, fields: str | None = None,
                         phone_number_id: str | None = None) -> Response:
        """A business number, a medium (with a 5-minute download URL) or a template."""
        base = str(request.base_url)
        return answer(lambda: graph.get(object_id, authorization, fields=fields, base_url=base,
                                        phone_number_id=phone_number_id))

    @router.delete("/{version:graph_version}/{object_id}")
    async def delete_object(version: str, object_id: str, graph: GraphDep,
                            authorization: Authorization = None,
                            phone_number_id: str | None = None) -> Response:
        """Delete a medium."""
        return answer(lambda: graph.delete(object_id, authorization, phone_number_id))

    @router.get("/{version:graph_version}/{waba_id}/phone_numbers")
    async def phone_numbers(version: str, waba_id: str, graph: GraphDep,
                            authorization: Authorization = None,
                            fields: str | None = None) -> Response:
        """The account's business numbers."""
        return answer(lambda: graph.phone_numbers(waba_id, authorization, fields))

    @router.get("/{version:graph_version}/{phone_number_id}/whatsapp_business_profile")
    async def get_profile(version: str, phone_number_id: str, graph: GraphDep,
                          authorization: Authorization = None,
                          fields: str | None = None) -> Response:
        return answer(lambda: graph.profile(phone_number_id, authorization, fields))

    @router.post("/{version:graph_version}/{phone_number_id}/whatsapp_business_profile")
    async def update_profile(request: Request, version: str, phone_number_id: str,
                             graph: GraphDep, authorization: Authorization = None) -> Response:
        raw = await request.body()
        return answer(lambda: graph.update_profile(phone_number_id, authorization,
                                                   json_object(raw)))

    return router


def install_graph_errors(api: FastAPI) -> None:
    """FastAPI's refusals on Graph paths in Meta's envelope; elsewhere FastAPI's own."""

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        path = request.url.path
        if not is_graph_path(path):
            return await http_exception_handler(request, exc)
        if exc.status_code in (404, 405):
            return error_response(unrouted(request.method, path))
        return error_response(CloudApiError(100, str(exc.detail)[:300],
                                            http_status=max(exc.status_code, 400)))

    async def on_invalid_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if not is_graph_path(request.url.path):
            return await request_validation_exception_handler(request, exc)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
        return error_response(CloudApiError(
            100, f"Param {where} is not valid: {first.get('msg', 'invalid value')}"))

    api.add_exception_handler(StarletteHTTPException, on_http_error)
    api.add_exception_handler(RequestValidationError, on_invalid_request)
