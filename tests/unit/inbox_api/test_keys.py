"""API keys through the API (keys/): admins list, make and revoke keys; the tenant's numbers;
through the real app on in-memory fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import pytest

from services.inbox_api.accounts.people import PeopleAdmin
from services.inbox_api.accounts.service import AccountService
from services.inbox_api.keys.service import KeyAdmin
from services.inbox_api.keys.views import digest_prefix, key_id
from services.inbox_api.main import create_app
from services.inbox_api.settings import InboxApiSettings
from tests.unit.inbox_api.fakes import (
    ACME_KEY,
    GLOBEX_KEY,
    NOW,
    WithState,
    key_doc,
    seeded_repository,
    wire,
)
from tests.unit.inbox_api.test_team_roles import AGENT_KEY, Clock, FakePeople

Document = dict[str, object]


@dataclass
class FakeKeyStore:
    """The keys' port over the accounts' fake (one dict of keys, one of sessions)."""

    accounts: FakePeople

    async def tenant_keys(self, tenant_id: str) -> list[dict[str, object]]:
        return await self.accounts.agent_keys(tenant_id)

    async def keys_with_prefix(self, tenant_id: str,
                               digest_prefix: str) -> list[dict[str, object]]:
        return [k for h, k in self.accounts.keys.items()
                if h.startswith(digest_prefix) and k["tenant_id"] == tenant_id]

    async def add_key(self, doc: dict[str, object]) -> None:
        await self.accounts.add_api_key(doc)

    async def revoke_key(self, tenant_id: str, key_hash: str, at: datetime) -> bool:
        doc = self.accounts.keys.get(key_hash)
        if doc is None or doc["tenant_id"] != tenant_id:
            return False
        return await self.accounts.revoke_api_key(key_hash, at)

    async def delete_key_sessions(self, tenant_id: str, key_hash: str) -> int:
        gone = [t for t, s in self.accounts.sessions.items()
                if s["tenant_id"] == tenant_id and s.get("key_hash") == key_hash]
        for t in gone:
            del self.accounts.sessions[t]
        return len(gone)


@dataclass
class Desk:
    repository: FakePeople
    app: WithState
    clock: Clock

    def client(self, key: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                 base_url="http://inbox", headers=headers)


def desk_of(repository: FakePeople) -> Desk:
    wiring = wire(repository)
    clock = Clock()
    accounts = AccountService(repository, clock, people=repository)
    state = wiring.state.copy()
    state["accounts"], state["people"] = accounts, PeopleAdmin(accounts, repository)
    state["keys"] = KeyAdmin(FakeKeyStore(repository), accounts, repository, clock)
    return Desk(repository, WithState(create_app(InboxApiSettings()), state), clock)


@pytest.fixture
def desk() -> Desk:
    seeded = seeded_repository()
    repository = FakePeople(keys=seeded.keys, channels=seeded.channels,
                            template_docs=seeded.template_docs,
                            conversation_docs=seeded.conversation_docs)
    agent = {**key_doc(AGENT_KEY, "acme", "nia"), "role": "agent", "display_name": "Nia"}
    repository.keys[agent["_id"]] = agent
    return desk_of(repository)


@pytest.fixture
async def admin(desk: Desk) -> AsyncIterator[httpx.AsyncClient]:
    async with desk.client(ACME_KEY) as client:
        yield client


class TestKeyIds:
    def test_an_id_names_the_start_of_the_digest_and_back(self) -> None:
        digest = "0123456789abcdef" + "f" * 48
        assert key_id(digest) == "key_0123456789abcdef"
        assert digest_prefix(key_id(digest)) == "0123456789abcdef"

    @pytest.mark.parametrize("wrong", ["0123456789abcdef", "key_0123", "key_0123456789ABCDEF",
                                       "key_0123456789abcdeg", "key_0123456789abcdef0"])
    def test_anything_else_is_no_id(self, wrong: str) -> None:
        assert digest_prefix(wrong) is None


class TestListing:
    async def test_lists_the_tenants_usable_keys_without_secrets(
            self, desk: Desk, admin: httpx.AsyncClient) -> None:
        listed = await admin.get("/api/v1/keys")
        assert listed.status_code == 200
        items = listed.json()["items"]
        assert {k["agent_id"] for k in items} == {"ana", "nia"}   # not globex's, not revoked
        assert all("secret" not in k and "_id" not in k for k in items)
        assert all(k["id"].startswith("key_") and len(k["id"]) == 20 for k in items)
        assert ACME_KEY not in listed.text
        assert AGENT_KEY not in listed.text
        for stored in desk.repository.keys:
            assert stored not in listed.text   # the digest stays in the database
        roles = {k["agent_id"]: k["role"] for k in items}
        assert roles == {"ana": "admin", "nia": "agent"}

    async def test_an_agent_is_refused_with_a_reason(self, desk: Desk) -> None:
        async with desk.client(AGENT_KEY) as agent:
            responses = [await agent.get("/api/v1/keys"),
                         await agent.post("/api/v1/keys", json={"name": "CRM"}),
                         await agent.delete("/api/v1/keys/key_0123456789abcdef")]
        for refused in responses:
            assert refused.status_code == 403
            assert refused.json()["error"] == "admin_only"
            assert "admin" in refused.json()["detail"]


class TestCreating:
    async def test_a_service_key_is_shown_once_and_works(
            self, desk: Desk, admin: httpx.AsyncClient) -> None:
        desk.clock.now = NOW + timedelta(minutes=1)
        made = await admin.post("/api/v1/keys", json={"name": "CRM sync", "kind": "service"})
        assert made.status_code == 201, made.text
        body = made.json()
        assert body["secret"].startswith("wai_")
        assert body["prefix"] == body["secret"][:8]
        assert (body["kind"], body["role"], body["name"]) == ("service", "agent", "CRM sync")
        assert body["agent_id"].startswith("svc_")
        assert body["secret"] not in str(desk.repository.keys)   # stored as a digest
        async with desk.client(body["secret"]) as crm:
            me = await crm.get("/api/v1/me")
        assert (me.status_code, me.json()["agent_id"], me.json()["kind"]) == (
            200, body["agent_id"], "service")
        listed = (await admin.get("/api/v1/keys")).json()["items"]
        assert listed[0]["id"] == body["id"]   # newest first
        assert "secret" not in listed[0]

    async def test_an_admin_service_key_may_manage(self, desk: Desk,
                                                  admin: httpx.AsyncClient) -> None:
        made = (await admin.post("/api/v1/keys", json={"name": "Ops", "role": "admin"})).json()
        async with desk.client(made["secret"]) as ops:
            assert (await ops.get("/api/v1/keys")).status_code == 200

    async def test_an_agents_key_needs_an_active_member(self, desk: Desk,
                                                       admin: httpx.AsyncClient) -> None:
        made = await admin.post("/api/v1/keys", json={"name": "Nia laptop", "kind": "agent",
                                                      "agent_id": "nia"})
        missing = await admin.post("/api/v1/keys", json={"name": "x", "kind": "agent"})
        ghost = await admin.post("/api/v1/keys", json={"name": "x", "kind": "agent",
                                                       "agent_id": "ghost"})
        assert made.status_code == 201
        assert (made.json()["agent_id"], made.json()["kind"]) == ("nia", "agent")
        for refused in (missing, ghost):
            assert (refused.status_code, refused.json()["field"]) == (422, "agent_id")

    async def test_a_service_key_cannot_take_an_agents_id(self, admin: httpx.AsyncClient,
                                                         ) -> None:
        refused = await admin.post("/api/v1/keys", json={"name": "x", "agent_id": "nia"})
        assert (refused.status_code, refused.json()["field"]) == (422, "agent_id")

    @pytest.mark.parametrize(("body", "field"), [
        ({}, "name"), ({"name": "  "}, "name"), ({"name": "x", "kind": "robot"}, "kind"),
        ({"name": "x", "role": "owner"}, "role"), ({"name": "x", "agent_id": "a b"}, "agent_id"),
        ({"name": "x", "secret": "mine"}, "secret")])
    async def test_bad_input_is_a_422_naming_the_field(
            self, admin: httpx.AsyncClient, body: Document, field: str) -> None:
        response = await admin.post("/api/v1/keys", json=body)
        assert (response.status_code, response.json()["field"]) == (422, field)


class TestRevoking:
    async def test_the_key_and_its_sessions_stop_at_once(self, desk: Desk,
                                                         admin: httpx.AsyncClient) -> None:
        made = (await admin.post("/api/v1/keys", json={"name": "CRM"})).json()
        async with desk.client() as browser:
            signed = await browser.post("/api/v1/session", json={"api_key": made["secret"]})
            assert signed.status_code == 204
            revoked = await admin.delete(f"/api/v1/keys/{made['id']}")
            after = await browser.get("/api/v1/me")
        async with desk.client(made["secret"]) as crm:
            refused = await crm.get("/api/v1/me")
        assert (revoked.status_code, revoked.json()["id"]) == (200, made["id"])
        assert after.status_code == 401
        assert (refused.status_code, refused.json()["error"]) == (401, "invalid_credential")
        assert not any(s.get("key_hash") for s in desk.repository.sessions.values()
                       if s["agent_id"] == made["agent_id"])
        again = await admin.delete(f"/api/v1/keys/{made['id']}")
        assert (again.status_code, again.json()["error"]) == (404, "key_not_found")

    async def test_another_tenants_or_an_unknown_key_is_a_404(
            self, desk: Desk, admin: httpx.AsyncClient) -> None:
        async with desk.client(GLOBEX_KEY) as globex:
            theirs = (await globex.get("/api/v1/keys")).json()["items"][0]["id"]
        revoked_id = key_id(next(h for h, k in desk.repository.keys.items()
                                 if k["agent_id"] == "old"))
        for wrong in (theirs, revoked_id, "key_0000000000000000", "not-a-key"):
            response = await admin.delete(f"/api/v1/keys/{wrong}")
            assert (response.status_code, response.json()["error"]) == (404, "key_not_found")
        async with desk.client(GLOBEX_KEY) as globex:
            assert (await globex.get("/api/v1/me")).status_code == 200


class TestChannels:
    async def test_every_role_sees_the_tenants_numbers_without_tokens(self, desk: Desk) -> None:
        async with desk.client(AGENT_KEY) as agent:
            listed = await agent.get("/api/v1/channels")
        assert listed.status_code == 200
        assert [c["phone_number_id"] for c in listed.json()["items"]] == ["1001"]
        assert listed.json()["items"][0]["waba_id"] == "2001"
        assert "acme-token" not in listed.text
