"""Teams and assignment on hand-written fakes: members must be active agents of the tenant, a
conversation is assigned only to an active agent or a team of the caller's tenant (anything else
is 422 on ``assignee_id`` and publishes nothing), the rotation's switch is the admins'."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from services.inbox_api.accounts.credentials import Identity
from services.inbox_api.accounts.schemas import AgentList, AgentOut
from services.inbox_api.conversations.commands import InboxCommands
from services.inbox_api.conversations.schemas import AssigneeIn
from services.inbox_api.errors import Forbidden, InvalidInput, NotFound
from services.inbox_api.teams.assignees import team_assignee, team_of
from services.inbox_api.teams.ports import Document
from services.inbox_api.teams.schemas import RoundRobinIn, TeamIn
from services.inbox_api.teams.service import TeamService
from tests.unit.inbox_api.fakes import NOW, FakePublisher, FakeUploader, seeded_repository

CID = "1001:16505550123"


@dataclass
class FakeTeams:
    docs: dict[str, Document] = field(default_factory=dict)
    rotations: dict[str, Document] = field(default_factory=dict)

    async def teams(self, tenant_id: str) -> list[Document]:
        return sorted((d for d in self.docs.values() if d["tenant_id"] == tenant_id),
                      key=lambda d: d["name_key"])

    async def team(self, tenant_id: str, team_id: str) -> Document | None:
        doc = self.docs.get(team_id)
        return doc if doc and doc["tenant_id"] == tenant_id else None

    async def add_team(self, doc: Document) -> None:
        self.docs[doc["_id"]] = doc

    async def update_team(self, tenant_id: str, team_id: str, name: str,
                          member_ids: list[str]) -> bool:
        doc = await self.team(tenant_id, team_id)
        if doc is None:
            return False
        doc.update(name=name, name_key=name.casefold(), member_ids=member_ids)
        return True

    async def delete_team(self, tenant_id: str, team_id: str) -> bool:
        return await self.team(tenant_id, team_id) is not None and bool(
            self.docs.pop(team_id))

    async def rotation(self, tenant_id: str) -> Document | None:
        return self.rotations.get(tenant_id)

    async def set_rotation(self, tenant_id: str, enabled: bool,
                           members: list[str] | None) -> None:
        doc = self.rotations.setdefault(tenant_id, {"members": []})
        doc["enabled"] = enabled
        if members is not None:
            doc["members"] = members

    async def set_available(self, tenant_id: str, agent_id: str, available: bool) -> None:
        members = self.rotations.setdefault(tenant_id, {"enabled": False, "members": []})
        if available and agent_id not in members["members"]:
            members["members"].append(agent_id)
        elif not available and agent_id in members["members"]:
            members["members"].remove(agent_id)


class FakeRoster:
    async def agents(self, identity: Identity) -> AgentList:
        ids = {"acme": ["ana", "bea"], "globex": ["gus"]}[identity.tenant_id]
        return AgentList(items=[AgentOut(id=i, display_name=i.title(), kind="agent")
                                for i in ids]
                         + [AgentOut(id="crm", display_name="CRM", kind="service")])


def who(agent: str = "ana", tenant: str = "acme", role: str = "agent") -> Identity:
    return Identity(tenant_id=tenant, agent_id=agent, display_name=agent.title(), kind="agent",
                    key_hash="h", role="admin" if role == "admin" else "agent")


@pytest.fixture
def teams() -> TeamService:
    return TeamService(FakeTeams(), FakeRoster(), lambda: NOW)


def test_a_team_assignee_round_trips() -> None:
    assert team_of(team_assignee("team_1")) == "team_1"
    assert team_of("ana") is None
    assert team_of(None) is None
    assert team_of("team:") is None


class TestTeams:
    async def test_members_must_be_active_agents_of_the_tenant(self, teams: TeamService) -> None:
        with pytest.raises(InvalidInput) as refused:
            await teams.create(who(), TeamIn(name="Billing", member_ids=["ana", "gus"]))
        assert refused.value.extra["field"] == "member_ids"
        assert "gus" in refused.value.detail
        with pytest.raises(InvalidInput):  # a service key is not a person
            await teams.create(who(), TeamIn(name="Billing", member_ids=["crm"]))

    async def test_create_rename_and_delete(self, teams: TeamService) -> None:
        team = await teams.create(who(), TeamIn(name="Billing", member_ids=["bea", "ana", "bea"]))
        assert team.member_ids == ["bea", "ana"]
        assert team.assignee_id == f"team:{team.id}"
        renamed = await teams.update(who(), team.id, TeamIn(name="Payments", member_ids=[]))
        assert (renamed.name, renamed.member_ids) == ("Payments", [])
        with pytest.raises(InvalidInput):
            await teams.create(who(), TeamIn(name="payments"))  # names are unique, any case
        await teams.delete(who(), team.id)
        assert (await teams.teams(who())).items == []

    async def test_another_tenants_team_is_not_found(self, teams: TeamService) -> None:
        team = await teams.create(who(), TeamIn(name="Billing"))
        for attempt in (teams.team(who("gus", "globex"), team.id),
                        teams.update(who("gus", "globex"), team.id, TeamIn(name="x")),
                        teams.delete(who("gus", "globex"), team.id)):
            with pytest.raises(NotFound):
                await attempt
        assert not await teams.is_assignable(who("gus", "globex"), team.assignee_id)
        assert await teams.is_assignable(who(), team.assignee_id)


class TestRotation:
    async def test_only_an_admin_switches_it(self, teams: TeamService) -> None:
        with pytest.raises(Forbidden):
            await teams.set_rotation(who(), RoundRobinIn(enabled=True))
        state = await teams.set_rotation(who(role="admin"), RoundRobinIn(enabled=True))
        assert state.enabled
        assert state.members == []

    async def test_agents_opt_in_and_out(self, teams: TeamService) -> None:
        assert (await teams.set_available(who("ana"), True)).members == ["ana"]
        assert (await teams.set_available(who("bea"), True)).available
        assert (await teams.set_available(who("ana"), False)).members == ["bea"]

    async def test_members_set_by_an_admin_are_validated(self, teams: TeamService) -> None:
        with pytest.raises(InvalidInput) as refused:
            await teams.set_rotation(who(role="admin"),
                                     RoundRobinIn(enabled=True, members=["ana", "ghost"]))
        assert refused.value.extra["field"] == "members"


class TestAssign:
    @pytest.fixture
    def wiring(self, teams: TeamService) -> tuple[InboxCommands, FakePublisher]:
        publisher = FakePublisher()
        return InboxCommands(seeded_repository(), publisher, lambda: NOW, FakeUploader(),
                             assignees=teams), publisher

    @pytest.mark.parametrize("assignee", ["ghost-agent", "gus", "crm", "team:nope"])
    async def test_an_unknown_assignee_is_422_and_nothing_is_published(
            self, wiring: tuple[InboxCommands, FakePublisher], assignee: str) -> None:
        commands, publisher = wiring
        with pytest.raises(InvalidInput) as refused:
            await commands.assign(who(), CID, AssigneeIn(assignee_id=assignee), None)
        assert refused.value.extra["field"] == "assignee_id"
        assert refused.value.code == "unknown_assignee"
        assert publisher.published == []

    async def test_an_agent_a_team_me_or_nobody(
            self, wiring: tuple[InboxCommands, FakePublisher], teams: TeamService) -> None:
        commands, publisher = wiring
        team = await teams.create(who(), TeamIn(name="Billing"))
        for given in ("bea", team.assignee_id, "me", None):
            await commands.assign(who(), CID, AssigneeIn(assignee_id=given), None)
        assert [getattr(c, "assignee_id", "?") for c in publisher.published] == [
            "bea", team.assignee_id, "ana", None]
