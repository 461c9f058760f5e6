"""The tenant's message templates, for the composer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.inbox_api.deps import Caller, Queries
from services.inbox_api.errors import error_responses
from services.inbox_api.schemas import TemplateList

router = APIRouter(tags=["templates"])


@router.get("/templates", responses=error_responses(401, 422))
async def list_templates(
    caller: Caller, queries: Queries,
    status: Annotated[str | None, Query(max_length=40, pattern=r"^[A-Za-z_]+$",
                                        description="e.g. APPROVED")] = None,
) -> TemplateList:
    return await queries.templates(caller, status)
