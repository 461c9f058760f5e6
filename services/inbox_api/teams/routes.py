"""Teams (CRUD, any agent), and the round-robin rotation: its state, the admin's switch, and
each agent's opt-in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from services.inbox_api.deps import Caller, RequireAdmin, Teams
from services.inbox_api.errors import error_responses
from services.inbox_api.teams.schemas import (
    AvailabilityIn,
    RoundRobinIn,
    RoundRobinOut,
    TeamIn,
    TeamList,
    TeamOut,
)

router = APIRouter(tags=["teams"])

TeamId = Annotated[str, Path(min_length=1, max_length=100)]


@router.get("/teams", responses=error_responses(401))
async def list_teams(caller: Caller, teams: Teams) -> TeamList:
    """The tenant's teams, by name."""
    return await teams.teams(caller)


@router.post("/teams", status_code=201, responses=error_responses(401, 422))
async def create_team(caller: Caller, teams: Teams, body: TeamIn) -> TeamOut:
    """A team: a name and its member agents (active agents of the tenant)."""
    return await teams.create(caller, body)


@router.get("/teams/{team_id}", responses=error_responses(401, 404, 422))
async def get_team(caller: Caller, teams: Teams, team_id: TeamId) -> TeamOut:
    return await teams.team(caller, team_id)


@router.put("/teams/{team_id}", responses=error_responses(401, 404, 422))
async def update_team(caller: Caller, teams: Teams, team_id: TeamId, body: TeamIn) -> TeamOut:
    """Rename a team or change its members."""
    return await teams.update(caller, team_id, body)


@router.delete("/teams/{team_id}", status_code=204, response_class=Response,
               responses=error_responses(401, 404, 422))
async def delete_team(caller: Caller, teams: Teams, team_id: TeamId) -> Response:
    await teams.delete(caller, team_id)
    return Response(status_code=204)


@router.get("/round-robin", responses=error_responses(401))
async def round_robin(caller: Caller, teams: Teams) -> RoundRobinOut:
    """Whether new conversations are assigned in turn, and to whom."""
    return await teams.rotation(caller)


@router.put("/round-robin", responses=error_responses(401, 403, 422))
async def set_round_robin(caller: RequireAdmin, teams: Teams,
                          body: RoundRobinIn) -> RoundRobinOut:
    """Admins: switch round-robin auto-assignment on or off (and optionally set who takes
    turns). New conversations a customer starts are then assigned to the next agent."""
    return await teams.set_rotation(caller, body)


@router.put("/round-robin/me", responses=error_responses(401, 422))
async def set_my_availability(caller: Caller, teams: Teams,
                              body: AvailabilityIn) -> RoundRobinOut:
    """Opt in to (or out of) taking turns."""
    return await teams.set_available(caller, body.available)
