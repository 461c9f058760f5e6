"""Template management (docs/templates.md): list, read, create, edit, delete, preview, sync.

The use cases are opened with the app (main.py), on its MongoDB and Cloud API clients; the
start-up sync of every tenant's templates runs there in the background (``sync_at_start``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from services.inbox_api.deps import Caller
from services.inbox_api.errors import error_responses
from services.inbox_api.templates.schemas import (
    ContentIn,
    Preview,
    PreviewDraftIn,
    PreviewValuesIn,
    SyncResult,
    TemplateCreateIn,
    TemplateDetail,
)
from services.inbox_api.templates.service import TemplateAdmin

log = logging.getLogger(__name__)

TemplateId = Annotated[str, Path(min_length=5, max_length=700,
                                 description="<waba_id>:<name>:<language>")]


def get_template_admin(request: Request) -> TemplateAdmin:
    admin: TemplateAdmin = request.state.template_admin
    return admin


Admin = Annotated[TemplateAdmin, Depends(get_template_admin)]


router = APIRouter(tags=["templates"])


@router.get("/templates/{template_id}", responses=error_responses(401, 404))
async def get_template(template_id: TemplateId, caller: Caller,
                       admin: Admin) -> TemplateDetail:
    return await admin.get(caller, template_id)


@router.post("/templates", status_code=201, responses=error_responses(401, 404, 409, 422,
                                                                       503))
async def create_template(body: TemplateCreateIn, caller: Caller,
                          admin: Admin) -> TemplateDetail:
    """Validate with Meta's rules, submit to the Cloud API, store as PENDING."""
    return await admin.create(caller, body)


@router.put("/templates/{template_id}", responses=error_responses(401, 404, 409, 422, 503))
async def edit_template(template_id: TemplateId, body: ContentIn, caller: Caller,
                        admin: Admin) -> TemplateDetail:
    return await admin.edit(caller, template_id, body)


@router.delete("/templates/{template_id}", status_code=204,
               responses=error_responses(401, 404, 422, 503))
async def delete_template(template_id: TemplateId, caller: Caller, admin: Admin,
                          all_languages: Annotated[bool, Query()] = False) -> Response:
    await admin.delete(caller, template_id, all_languages)
    return Response(status_code=204)


@router.post("/templates/preview", responses=error_responses(401, 422))
async def preview_draft(body: PreviewDraftIn, caller: Caller) -> Preview:
    return TemplateAdmin.preview_draft(body)


@router.post("/templates/sync", responses=error_responses(401))
async def sync_templates(caller: Caller, admin: Admin) -> SyncResult:
    return await admin.sync_tenant(caller.tenant_id)


@router.post("/templates/{template_id}/preview", responses=error_responses(401, 404, 422))
async def preview_template(template_id: TemplateId, body: PreviewValuesIn, caller: Caller,
                           admin: Admin) -> Preview:
    return await admin.preview(caller, template_id, body.values)


async def sync_at_start(admin: TemplateAdmin) -> None:
    """Every tenant's templates from the Cloud API, once at start-up; failures are logged
    (readiness never waits for it)."""
    try:
        await admin.sync_everyone()
    except asyncio.CancelledError:
        raise
    except Exception:
        log.warning("start-up template sync failed", exc_info=True)
