"""Meta's template management endpoints, and their control endpoints under ``/_sandbox``.

The rules and state are in :mod:`sandbox.template_admin`; this module only speaks HTTP: Meta's
error envelope (``{"error": {...}}`` with Meta's status) for the Cloud API paths.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, Depends, Header, Path, Request, Response

from sandbox.catalog import TemplateSpec
from sandbox.errors import CloudApiError
from sandbox.routers.control import PREFIX
from sandbox.service import ControlError
from sandbox.template_admin import (
    ComponentsChange,
    QualityChange,
    ReviewPlan,
    StatusChange,
    TemplateAdmin,
)

VERSION = r"^v[0-9]+\.[0-9]+$"
T = TypeVar("T")


async def get_admin(request: Request) -> TemplateAdmin:
    admin: TemplateAdmin = request.state.template_admin
    return admin


AdminDep = Annotated[TemplateAdmin, Depends(get_admin)]
Version = Annotated[str, Path(pattern=VERSION)]
Authorization = Annotated[str | None, Header()]


def _meta(call: Callable[[], dict[str, Any]]) -> Response:
    """Run a Cloud API call; a refusal is Meta's error envelope with Meta's status."""
    try:
        return Response(orjson.dumps(call()), media_type="application/json")
    except CloudApiError as error:
        return Response(error.body(), status_code=error.http_status,
                        media_type="application/json",
                        headers={k.decode(): v.decode() for k, v in error.headers()})


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise CloudApiError(100, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise CloudApiError(100, "The request body must be a JSON object.")
    return body


def templates_router() -> APIRouter:
    router = APIRouter(tags=["Cloud API templates"])

    @router.get("/{version}/{waba_id}/message_templates")
    async def list_templates(
        request: Request, version: Version, waba_id: str, admin: AdminDep,
        authorization: Authorization = None,
    ) -> Response:
        """Meta's listing: ``fields``, ``summary``, filters (``status``, ``category``,
        ``language``, ``quality_score``, ``name``, ``content``), ``limit``/``after``/``before``.
        Read by :mod:`sandbox.template_listing`, so a bad value is Meta's error 100."""
        url = str(request.url.replace(query=""))
        params = dict(request.query_params)

        def call() -> dict[str, Any]:
            admin.authorize(waba_id, authorization)
            return admin.listing(waba_id, params, url)

        return _meta(call)

    @router.post("/{version}/{waba_id}/message_templates")
    async def create_template(request: Request, version: Version, waba_id: str,
                              admin: AdminDep, authorization: Authorization = None) -> Response:
        raw = await request.body()

        def call() -> dict[str, Any]:
            admin.authorize(waba_id, authorization)
            return admin.create(waba_id, _json_object(raw))

        return _meta(call)

    @router.delete("/{version}/{waba_id}/message_templates")
    async def delete_template(version: Version, waba_id: str, admin: AdminDep,
                              name: str | None = None, hsm_id: str | None = None,
                              authorization: Authorization = None) -> Response:
        def call() -> dict[str, Any]:
            admin.authorize(waba_id, authorization)
            if not name:
                raise CloudApiError(100, "The parameter name is required.")
            return admin.delete(waba_id, name, hsm_id)

        return _meta(call)

    # ``:int``: template ids are numbers; keeps other two-segment paths out.
    @router.post("/{version}/{template_id:int}")
    async def edit_template(request: Request, version: Version, template_id: int,
                            admin: AdminDep, authorization: Authorization = None) -> Response:
        raw = await request.body()

        def call() -> dict[str, Any]:
            admin.authorize(None, authorization)
            return admin.edit(str(template_id), _json_object(raw))

        return _meta(call)

    # -- control ------------------------------------------------------------------------------

    @router.get(f"{PREFIX}/template-review", tags=["sandbox control"])
    async def review_plan(admin: AdminDep) -> ReviewPlan:
        return admin.plan

    @router.put(f"{PREFIX}/template-review", tags=["sandbox control"])
    async def set_review_plan(plan: ReviewPlan, admin: AdminDep) -> ReviewPlan:
        """How the next reviews end: names to reject (with ``reason``), and the delay."""
        return _control(lambda: admin.set_plan(plan))

    @router.post(f"{PREFIX}/template-status", tags=["sandbox control"])
    async def change_status(change: StatusChange, admin: AdminDep) -> TemplateSpec:
        """Set a template's status now (PAUSED, DISABLED, REINSTATED, ...) and post the
        ``message_template_status_update`` webhook."""
        return _control(lambda: admin.change_status(change))

    @router.post(f"{PREFIX}/template-quality", tags=["sandbox control"])
    async def change_quality(change: QualityChange, admin: AdminDep) -> TemplateSpec:
        """Set a template's quality score and post ``message_template_quality_update``."""
        return _control(lambda: admin.change_quality(change))

    @router.post(f"{PREFIX}/template-components", tags=["sandbox control"])
    async def change_components(change: ComponentsChange, admin: AdminDep) -> TemplateSpec:
        """Meta changed the template's content (body; header, footer, buttons): later sends
        use it, and ``message_template_components_update`` is posted."""
        return _control(lambda: admin.change_components(change))

    return router


def _control(call: Callable[[], T]) -> T:
    try:
        return call()
    except CloudApiError as error:
        raise ControlError(404 if error.code == 100 and "not found" in error.details else 400,
                           error.details) from None

