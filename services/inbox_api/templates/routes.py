"""Templates (docs/templates.md): the list (every status; the composer asks for
``status=APPROVED``), read, create, edit, delete, preview, sync.

The list's items keep the composer's fields (name, language, category, status, body_text,
parameters[].key/example) and add the template API's. The use cases are opened with the app
(main.py), on its MongoDB and Cloud API clients; the start-up sync of every tenant's templates
runs there in the background (``sync_at_start``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from services.inbox_api.deps import Caller, RequireAdmin, TemplateAdminDep, Templates
from services.inbox_api.errors import error_responses
from services.inbox_api.templates.schemas import (
    ContentIn,
    Preview,
    PreviewDraftIn,
    PreviewValuesIn,
    SyncResult,
    TemplateCreateIn,
    TemplateDetail,
    TemplateDetailList,
)
from services.inbox_api.templates.service import TemplateAdmin
from services.inbox_api.templates.service import list_templates as tenant_templates

router = APIRouter(tags=["templates"])

TemplateId = Annotated[str, Path(min_length=5, max_length=700,
                                 description="<waba_id>:<name>:<language>")]


@router.get("/templates", responses=error_responses(401, 422))
async def list_templates(
    caller: Caller, templates: Templates,
    status: Annotated[str | None, Query(max_length=40, pattern=r"^[A-Za-z_]+$",
                                        description="e.g. APPROVED")] = None,
) -> TemplateDetailList:
    return await tenant_templates(templates, caller, status)


@router.get("/templates/{template_id}", responses=error_responses(401, 404))
async def get_template(template_id: TemplateId, caller: Caller,
                       admin: TemplateAdminDep) -> TemplateDetail:
    return await admin.get(caller, template_id)


@router.post("/templates", status_code=201, responses=error_responses(401, 403, 404, 409,
                                                                       422, 503))
async def create_template(body: TemplateCreateIn, caller: RequireAdmin,
                          admin: TemplateAdminDep) -> TemplateDetail:
    """Validate with Meta's rules, submit to the Cloud API, store as PENDING."""
    return await admin.create(caller, body)


@router.put("/templates/{template_id}", responses=error_responses(401, 403, 404, 409, 422,
                                                                503))
async def edit_template(template_id: TemplateId, body: ContentIn, caller: RequireAdmin,
                        admin: TemplateAdminDep) -> TemplateDetail:
    return await admin.edit(caller, template_id, body)


@router.delete("/templates/{template_id}", status_code=204,
               responses=error_responses(401, 403, 404, 422, 503))
async def delete_template(template_id: TemplateId, caller: RequireAdmin,
                          admin: TemplateAdminDep,
                          all_languages: Annotated[bool, Query()] = False) -> Response:
    await admin.delete(caller, template_id, all_languages)
    return Response(status_code=204)


@router.post("/templates/preview", responses=error_responses(401, 422))
async def preview_draft(body: PreviewDraftIn, caller: Caller) -> Preview:
    return TemplateAdmin.preview_draft(body)


@router.post("/templates/sync", responses=error_responses(401, 403))
async def sync_templates(caller: RequireAdmin, admin: TemplateAdminDep) -> SyncResult:
    return await admin.sync_tenant(caller.tenant_id)


@router.post("/templates/{template_id}/preview", responses=error_responses(401, 404, 422))
async def preview_template(template_id: TemplateId, body: PreviewValuesIn, caller: Caller,
                           admin: TemplateAdminDep) -> Preview:
    return await admin.preview(caller, template_id, body.values)
