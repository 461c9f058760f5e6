"""The teams' use cases: a tenant's teams (any agent manages them), whom a conversation may be
assigned to (the assignment command's check), and the round-robin rotation (admins switch it on
and may set who takes turns; each agent opts in or out)."""

from __future__ import annotations

import uuid

from services.inbox_api.accounts.credentials import Identity
from services.inbox_api.accounts.roles import require_admin
from services.inbox_api.errors import InvalidInput, NotFound
from services.inbox_api.teams.assignees import team_of
from services.inbox_api.teams.ports import AgentRoster, Clock, TeamStore
from services.inbox_api.teams.schemas import (
    RoundRobinIn,
    RoundRobinOut,
    TeamIn,
    TeamList,
    TeamOut,
)
from services.inbox_api.teams.views import rotation_view, team_view


class TeamService:
    """Teams, assignees and the rotation, always inside the caller's tenant."""

    def __init__(self, store: TeamStore, roster: AgentRoster, clock: Clock) -> None:
        self.store = store
        self.roster = roster
        self.clock = clock

    async def active_agents(self, who: Identity) -> set[str]:
        """The tenant's active agents (people; service keys are not assignable)."""
        return {a.id for a in (await self.roster.agents(who)).items
                if a.kind == "agent" and a.active}

    # -- teams ---------------------------------------------------------------------------------

    async def teams(self, who: Identity) -> TeamList:
        return TeamList(items=[team_view(d) for d in await self.store.teams(who.tenant_id)])

    async def team(self, who: Identity, team_id: str) -> TeamOut:
        doc = await self.store.team(who.tenant_id, team_id)
        if doc is None:
            raise NotFound("No such team.", code="team_not_found")
        return team_view(doc)

    async def create(self, who: Identity, body: TeamIn) -> TeamOut:
        members = await self._members(who, body.member_ids, "member_ids")
        await self._unique_name(who, body.name, None)
        doc = {"_id": f"team_{uuid.uuid4().hex[:16]}", "tenant_id": who.tenant_id,
               "name": body.name.strip(), "name_key": body.name.strip().casefold(),
               "member_ids": members, "created_at": self.clock(), "created_by": who.agent_id}
        await self.store.add_team(doc)
        return team_view(doc)

    async def update(self, who: Identity, team_id: str, body: TeamIn) -> TeamOut:
        await self.team(who, team_id)
        members = await self._members(who, body.member_ids, "member_ids")
        await self._unique_name(who, body.name, team_id)
        if not await self.store.update_team(who.tenant_id, team_id, body.name.strip(), members):
            raise NotFound("No such team.", code="team_not_found")
        return await self.team(who, team_id)

    async def delete(self, who: Identity, team_id: str) -> None:
        """Conversations assigned to it keep its assignee id (shown as a deleted team)."""
        if not await self.store.delete_team(who.tenant_id, team_id):
            raise NotFound("No such team.", code="team_not_found")

    async def _members(self, who: Identity, ids: list[str], field: str) -> list[str]:
        active = await self.active_agents(who)
        unknown = [i for i in ids if i not in active]
        if unknown:
            raise InvalidInput(f"{field}: not active agents of your team: "
                               f"{', '.join(sorted(set(unknown)))}.",
                               code="unknown_agent", field=field)
        return list(dict.fromkeys(ids))  # once each, in the order given

    async def _unique_name(self, who: Identity, name: str, team_id: str | None) -> None:
        key = name.strip().casefold()
        if any(d.get("name_key") == key and d["_id"] != team_id
               for d in await self.store.teams(who.tenant_id)):
            raise InvalidInput(f"name: a team named {name.strip()!r} exists already.",
                               code="team_name_taken", field="name")

    # -- assignment ----------------------------------------------------------------------------

    async def is_assignable(self, who: Identity, assignee_id: str) -> bool:
        """An active agent of the caller's tenant, or one of its teams (``team:<id>``)."""
        team_id = team_of(assignee_id)
        if team_id is not None:
            return await self.store.team(who.tenant_id, team_id) is not None
        return assignee_id in await self.active_agents(who)

    # -- the rotation --------------------------------------------------------------------------

    async def rotation(self, who: Identity) -> RoundRobinOut:
        doc = await self.store.rotation(who.tenant_id)
        return rotation_view(doc, await self.active_agents(who), who.agent_id)

    async def set_rotation(self, who: Identity, body: RoundRobinIn) -> RoundRobinOut:
        require_admin(who)
        members = (None if body.members is None
                   else await self._members(who, body.members, "members"))
        await self.store.set_rotation(who.tenant_id, body.enabled, members)
        return await self.rotation(who)

    async def set_available(self, who: Identity, available: bool) -> RoundRobinOut:
        if available and who.agent_id not in await self.active_agents(who):
            raise InvalidInput("available: only an active agent (not a service key) takes "
                               "turns.", code="not_an_agent", field="available")
        await self.store.set_available(who.tenant_id, who.agent_id, available)
        return await self.rotation(who)
