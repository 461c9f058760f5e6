"""The tenant's agents, so the inbox can show names where the data has agent ids."""

from __future__ import annotations

from fastapi import APIRouter

from services.inbox_api.deps import Caller, Queries
from services.inbox_api.errors import error_responses
from services.inbox_api.schemas import AgentList

router = APIRouter(tags=["session"])


@router.get("/agents", responses=error_responses(401))
async def list_agents(caller: Caller, queries: Queries) -> AgentList:
    """Everyone with a usable key in the caller's tenant (one entry per agent id)."""
    return await queries.agents(caller)
