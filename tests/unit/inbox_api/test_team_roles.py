"""People and roles (accounts/): passwords, the admin-only rule, invitations, password sign-in
with its throttle, and deactivation, through the real app on in-memory fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import pytest

from services.inbox_api.accounts.credentials import Identity, role_of_key
from services.inbox_api.accounts.passwords import hash_password, verify_password, weak_password
from services.inbox_api.accounts.people import PeopleAdmin
from services.inbox_api.accounts.roles import require_admin
from services.inbox_api.accounts.service import AccountService
from services.inbox_api.conversations.ports import Document
from services.inbox_api.errors import Forbidden
from services.inbox_api.main import create_app
from services.inbox_api.settings import InboxApiSettings
from tests.unit.inbox_api.fakes import (
    ACME_KEY,
    GLOBEX_KEY,
    NOW,
    FakeRepository,
    WithState,
    key_doc,
    seeded_repository,
    wire,
)

AGENT_KEY = "wai_" + "n" * 43
PASSWORD = "correct horse battery"


@dataclass
class FakePeople(FakeRepository):
    """The people port over dicts, on top of the accounts' fake (sessions are shared)."""

    people: dict[str, Document] = field(default_factory=dict)
    invitations: dict[str, Document] = field(default_factory=dict)
    failure_times: dict[str, list[datetime]] = field(default_factory=dict)

    async def agent(self, tenant_id: str, agent_id: str) -> Document | None:
        return self.people.get(f"{tenant_id}:{agent_id}")

    async def agents_by_email(self, email: str) -> list[Document]:
        return [p for p in self.people.values() if p.get("email") == email]

    async def tenant_agents(self, tenant_id: str) -> list[Document]:
        return [p for p in self.people.values() if p["tenant_id"] == tenant_id]

    async def add_agent(self, doc: Document) -> bool:
        if doc["_id"] in self.people or any(
                p["tenant_id"] == doc["tenant_id"] and p.get("email") == doc["email"]
                for p in self.people.values()):
            return False
        self.people[doc["_id"]] = doc
        return True

    async def deactivate_agent(self, tenant_id: str, agent_id: str, at: datetime,
                               name: str) -> None:
        doc = self.people.setdefault(f"{tenant_id}:{agent_id}", {
            "tenant_id": tenant_id, "agent_id": agent_id, "name": name, "email": None,
            "role": "agent"})
        doc.update(active=False, deactivated_at=at)

    async def delete_agent_sessions(self, tenant_id: str, agent_id: str) -> int:
        gone = [k for k, s in self.sessions.items()
                if s["tenant_id"] == tenant_id and s["agent_id"] == agent_id]
        for k in gone:
            del self.sessions[k]
        return len(gone)

    async def add_invitation(self, doc: Document) -> None:
        self.invitations[doc["_id"]] = doc

    async def invitation(self, token_hash: str) -> Document | None:
        return self.invitations.get(token_hash)

    async def take_invitation(self, token_hash: str, at: datetime) -> bool:
        doc = self.invitations.get(token_hash)
        if doc is None or doc["accepted_at"] is not None or doc["expires_at"] <= at:
            return False
        doc["accepted_at"] = at
        return True

    async def failures(self, keys: list[str]) -> dict[str, list[datetime]]:
        return {k: list(self.failure_times[k]) for k in keys if k in self.failure_times}

    async def put_failures(self, key: str, at: list[datetime]) -> None:
        if at:
            self.failure_times[key] = list(at)
        else:
            self.failure_times.pop(key, None)


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Team:
    repository: FakePeople
    clock: Clock
    app: WithState

    def client(self, key: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                 base_url="http://inbox", headers=headers)


@pytest.fixture
def team() -> Team:
    seeded = seeded_repository()
    repository = FakePeople(keys=seeded.keys, channels=seeded.channels,
                            template_docs=seeded.template_docs,
                            conversation_docs=seeded.conversation_docs)
    agent = {**key_doc(AGENT_KEY, "acme", "nia"), "role": "agent", "display_name": "Nia"}
    repository.keys[agent["_id"]] = agent
    wiring, clock = wire(repository), Clock()
    accounts = AccountService(repository, clock, people=repository)
    state = wiring.state.copy()
    state["accounts"], state["people"] = accounts, PeopleAdmin(accounts, repository)
    return Team(repository, clock, WithState(create_app(InboxApiSettings()), state))


@pytest.fixture
async def admin(team: Team) -> AsyncIterator[httpx.AsyncClient]:
    async with team.client(ACME_KEY) as client:
        yield client


async def invite_and_accept(team: Team, admin: httpx.AsyncClient, email: str = "bea@acme.test",
                            role: str = "agent") -> tuple[httpx.AsyncClient, str]:
    """A signed-in browser of the new person (the caller closes it), and their agent id."""
    invited = await admin.post("/api/v1/agents/invitations",
                               json={"name": "Bea", "email": email, "role": role})
    assert invited.status_code == 201, invited.text
    browser = team.client()
    accepted = await browser.post(f"/api/v1/invitations/{invited.json()['token']}",
                                  json={"password": PASSWORD})
    assert accepted.status_code == 201, accepted.text
    return browser, accepted.json()["id"]


class TestPasswords:
    def test_a_hash_verifies_its_password_only(self) -> None:
        stored = hash_password(PASSWORD)
        assert stored.startswith("$argon2id$")
        assert PASSWORD not in stored
        assert verify_password(stored, PASSWORD)
        assert not verify_password(stored, PASSWORD + "!")

    def test_two_hashes_of_one_password_differ(self) -> None:
        assert hash_password(PASSWORD) != hash_password(PASSWORD)

    def test_a_malformed_stored_hash_is_a_no(self) -> None:
        assert not verify_password("not-a-hash", PASSWORD)

    @pytest.mark.parametrize(("password", "refused"), [
        ("short", True), ("          ", True), ("x" * 201, True), ("ten chars!", False)])
    def test_new_passwords_need_ten_characters(self, password: str, refused: bool) -> None:
        assert (weak_password(password) is not None) is refused


class TestRoles:
    def identity(self, role: str) -> Identity:
        return Identity(tenant_id="acme", agent_id="ana", display_name="Ana", kind="agent",
                        key_hash="", role="admin" if role == "admin" else "agent")

    def test_an_admin_passes(self) -> None:
        assert require_admin(self.identity("admin")).agent_id == "ana"

    def test_an_agent_is_refused_naming_the_role_needed(self) -> None:
        with pytest.raises(Forbidden) as refused:
            require_admin(self.identity("agent"))
        assert refused.value.code == "admin_only"
        assert refused.value.extra == {"required_role": "admin"}
        assert "admin" in refused.value.detail

    @pytest.mark.parametrize(("doc", "role"), [
        ({"kind": "agent"}, "admin"),            # a key from before roles: what keys could do
        ({"kind": "service"}, "agent"),
        ({"kind": "agent", "role": "agent"}, "agent"),
        ({"kind": "service", "role": "admin"}, "admin"),
        ({"kind": "agent", "role": "owner"}, "admin"),   # unknown: as if none stored
    ])
    def test_a_keys_role(self, doc: Document, role: str) -> None:
        assert role_of_key(doc) == role

    async def test_an_agent_creating_a_template_or_campaign_gets_403(self, team: Team) -> None:
        async with team.client(AGENT_KEY) as agent:
            template = await agent.post("/api/v1/templates", json={
                "business_phone_number_id": "1001", "name": "promo", "language": "en_US",
                "category": "MARKETING", "body": "Hi"})
            campaign = await agent.post("/api/v1/campaigns", json={"name": "x"})
            sync = await agent.post("/api/v1/templates/sync")
            invite = await agent.post("/api/v1/agents/invitations",
                                      json={"name": "Cy", "email": "cy@acme.test"})
            readable = await agent.get("/api/v1/templates")
        for refused in (template, campaign, sync, invite):
            assert refused.status_code == 403, refused.text
            assert refused.json()["error"] == "admin_only"
            assert refused.json()["required_role"] == "admin"
        assert readable.status_code == 200


class TestInvitations:
    async def test_accepting_creates_the_person_and_signs_them_in(
            self, team: Team, admin: httpx.AsyncClient) -> None:
        browser, agent_id = await invite_and_accept(team, admin)
        me = await browser.get("/api/v1/me")
        await browser.aclose()
        assert me.status_code == 200
        assert (me.json()["agent_id"], me.json()["role"]) == (agent_id, "agent")
        listed = (await admin.get("/api/v1/agents")).json()["items"]
        assert {"id": agent_id, "display_name": "Bea", "kind": "agent", "role": "agent",
                "active": True, "email": "bea@acme.test"} in listed
        stored = team.repository.people[f"acme:{agent_id}"]
        assert PASSWORD not in str(stored)
        assert verify_password(stored["password_hash"], PASSWORD)

    async def test_a_link_works_once(self, team: Team, admin: httpx.AsyncClient) -> None:
        invited = await admin.post("/api/v1/agents/invitations",
                                   json={"name": "Bea", "email": "bea@acme.test"})
        token = invited.json()["token"]
        assert invited.json()["link_path"] == f"/#invite={token}"
        async with team.client() as browser:
            first = await browser.post(f"/api/v1/invitations/{token}",
                                       json={"password": PASSWORD})
            again = await browser.post(f"/api/v1/invitations/{token}",
                                       json={"password": PASSWORD})
        assert first.status_code == 201
        assert (again.status_code, again.json()["error"]) == (404, "invitation_not_found")

    async def test_the_link_says_who_it_is_for_until_used(
            self, team: Team, admin: httpx.AsyncClient) -> None:
        invited = await admin.post("/api/v1/agents/invitations",
                                   json={"name": "Bea", "email": "bea@acme.test",
                                         "role": "admin"})
        token = invited.json()["token"]
        async with team.client() as browser:
            who = await browser.get(f"/api/v1/invitations/{token}")
            await browser.post(f"/api/v1/invitations/{token}", json={"password": PASSWORD})
            used = await browser.get(f"/api/v1/invitations/{token}")
            wrong = await browser.get("/api/v1/invitations/not-a-token")
        assert who.status_code == 200
        assert {k: who.json()[k] for k in ("name", "email", "role")} == {
            "name": "Bea", "email": "bea@acme.test", "role": "admin"}
        assert "token" not in who.json()
        assert used.status_code == 404
        assert wrong.status_code == 404

    async def test_an_expired_link_and_a_weak_password_are_refused(
            self, team: Team, admin: httpx.AsyncClient) -> None:
        invited = await admin.post("/api/v1/agents/invitations",
                                   json={"name": "Bea", "email": "bea@acme.test"})
        token = invited.json()["token"]
        async with team.client() as browser:
            weak = await browser.post(f"/api/v1/invitations/{token}", json={"password": "abc"})
            team.clock.now = NOW + timedelta(days=8)
            late = await browser.post(f"/api/v1/invitations/{token}",
                                      json={"password": PASSWORD})
        assert (weak.status_code, weak.json()["field"]) == (422, "password")
        assert (late.status_code, late.json()["error"]) == (404, "invitation_expired")

    async def test_an_email_already_in_the_team_is_refused(
            self, team: Team, admin: httpx.AsyncClient) -> None:
        await invite_and_accept(team, admin)
        again = await admin.post("/api/v1/agents/invitations",
                                 json={"name": "Bea 2", "email": "BEA@acme.test"})
        assert (again.status_code, again.json()["error"]) == (422, "email_taken")

    async def test_a_bad_email_is_a_422_naming_the_field(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post("/api/v1/agents/invitations",
                                    json={"name": "Bea", "email": "not-an-email"})
        assert (response.status_code, response.json()["field"]) == (422, "email")


class TestPasswordSignIn:
    async def test_signs_in_with_email_and_password(
            self, team: Team, admin: httpx.AsyncClient) -> None:
        await invite_and_accept(team, admin)
        async with team.client() as browser:
            signed = await browser.post("/api/v1/session", json={
                "email": "Bea@Acme.test", "password": PASSWORD})
            me = await browser.get("/api/v1/me")
        assert signed.status_code == 204
        assert me.json()["display_name"] == "Bea"

    async def test_an_api_key_still_signs_in(self, team: Team) -> None:
        async with team.client() as browser:
            signed = await browser.post("/api/v1/session", json={"api_key": ACME_KEY})
            me = await browser.get("/api/v1/me")
        assert signed.status_code == 204
        assert (me.json()["agent_id"], me.json()["role"]) == ("ana", "admin")

    async def test_neither_key_nor_password_is_a_422(self, team: Team) -> None:
        async with team.client() as browser:
            response = await browser.post("/api/v1/session", json={"email": "a@b.co"})
        assert (response.status_code, response.json()["field"]) == (422, "password")

    async def test_repeated_failures_are_throttled_with_retry_after(
            self, team: Team, admin: httpx.AsyncClient) -> None:
        await invite_and_accept(team, admin)
        wrong = {"email": "bea@acme.test", "password": "wrong password!"}
        async with team.client() as browser:
            failed = [await browser.post("/api/v1/session", json=wrong) for _ in range(5)]
            throttled = await browser.post("/api/v1/session", json={**wrong,
                                                                     "password": PASSWORD})
            team.clock.now = NOW + timedelta(minutes=15)
            later = await browser.post("/api/v1/session", json={**wrong, "password": PASSWORD})
        assert [r.status_code for r in failed] == [401] * 5
        assert failed[0].json()["error"] == "invalid_credential"
        assert throttled.status_code == 429
        assert throttled.headers["Retry-After"] == "900"
        assert throttled.json()["error"] == "sign_in_throttled"
        assert "try again in 15 minutes" in throttled.json()["detail"]
        assert later.status_code == 204

    async def test_one_client_trying_many_emails_is_throttled_too(self, team: Team) -> None:
        async with team.client() as browser:
            statuses = [(await browser.post("/api/v1/session", json={
                "email": f"x{i}@acme.test", "password": "wrong password!"})).status_code
                for i in range(21)]
        assert statuses == [401] * 20 + [429]


class TestDeactivation:
    async def test_ends_the_persons_sessions_at_once(
            self, team: Team, admin: httpx.AsyncClient) -> None:
        browser, agent_id = await invite_and_accept(team, admin)
        assert (await browser.get("/api/v1/me")).status_code == 200
        done = await admin.post(f"/api/v1/agents/{agent_id}/deactivate")
        after = await browser.get("/api/v1/me")
        again = await browser.post("/api/v1/session", json={"email": "bea@acme.test",
                                                             "password": PASSWORD})
        await browser.aclose()
        assert (done.status_code, done.json()["active"]) == (200, False)
        # The session is gone (401 on the next request); signing in again says why.
        assert after.status_code == 401
        assert (again.status_code, again.json()["error"]) == (401, "agent_deactivated")
        assert not any(s["agent_id"] == agent_id for s in team.repository.sessions.values())

    async def test_a_key_only_agents_keys_stop(self, team: Team,
                                               admin: httpx.AsyncClient) -> None:
        assert (await admin.post("/api/v1/agents/nia/deactivate")).status_code == 200
        async with team.client(AGENT_KEY) as nia:
            refused = await nia.get("/api/v1/me")
        assert (refused.status_code, refused.json()["error"]) == (401, "agent_deactivated")
        listed = {a["id"]: a for a in (await admin.get("/api/v1/agents")).json()["items"]}
        assert listed["nia"]["active"] is False

    async def test_another_tenants_agent_is_a_404(self, team: Team) -> None:
        async with team.client(GLOBEX_KEY) as globex:
            response = await globex.post("/api/v1/agents/ana/deactivate")
        assert (response.status_code, response.json()["error"]) == (404, "agent_not_found")

    async def test_an_admin_cannot_deactivate_themselves(self, admin: httpx.AsyncClient) -> None:
        response = await admin.post("/api/v1/agents/ana/deactivate")
        assert (response.status_code, response.json()["error"]) == (
            422, "cannot_deactivate_self")
