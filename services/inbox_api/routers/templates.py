"""The tenant's message templates, every status (the composer asks for ``status=APPROVED``).

The items keep the composer's fields (name, language, category, status, body_text,
parameters[].key/example) and add the template API's (docs/templates.md). The rest of the
template API is in ``template_admin``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.inbox_api.deps import Caller, Queries
from services.inbox_api.errors import error_responses
from services.inbox_api.templates.schemas import TemplateDetailList
from services.inbox_api.templates.service import list_templates as tenant_templates

router = APIRouter(tags=["templates"])


@router.get("/templates", responses=error_responses(401, 422))
async def list_templates(
    caller: Caller, queries: Queries,
    status: Annotated[str | None, Query(max_length=40, pattern=r"^[A-Za-z_]+$",
                                        description="e.g. APPROVED")] = None,
) -> TemplateDetailList:
    return await tenant_templates(queries.repository, caller, status)
