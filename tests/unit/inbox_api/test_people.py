"""Agents' names, the tenant's numbers in /me, and sessions that end when they expire."""

from __future__ import annotations

from datetime import timedelta

import httpx

from services.inbox_api.accounts.credentials import digest
from services.inbox_api.accounts.views import agent_list
from services.inbox_api.main import create_app
from services.inbox_api.settings import InboxApiSettings
from tests.unit.inbox_api.fakes import ACME_KEY, NOW, Wiring, WithState, key_doc


class TestAgentList:
    def test_one_entry_per_agent_with_the_newest_keys_name(self) -> None:
        old = {**key_doc("wai_" + "1" * 43, "acme", "bea"), "display_name": "B.",
               "created_at": NOW - timedelta(days=3)}
        new = {**key_doc("wai_" + "2" * 43, "acme", "bea"), "display_name": "Bea"}
        bot = {**key_doc("wai_" + "3" * 43, "acme", "bot"), "kind": "service",
               "display_name": "Order bot"}
        agents = agent_list([new, bot, old]).items
        assert [(a.id, a.display_name, a.kind) for a in agents] == [
            ("bea", "Bea", "agent"), ("bot", "Order bot", "service")]

    def test_a_key_without_a_name_shows_the_agent_id(self) -> None:
        doc = {**key_doc("wai_" + "4" * 43, "acme", "cy"), "display_name": None}
        assert agent_list([doc]).items[0].display_name == "cy"


class TestAgentsEndpoint:
    async def test_lists_the_callers_tenants_agents_without_revoked_keys(
            self, http: httpx.AsyncClient, wiring: Wiring) -> None:
        for key, agent in (("wai_" + "b" * 43, "bea"), ("wai_" + "c" * 43, "bea")):
            doc = key_doc(key, "acme", agent)
            wiring.repository.keys[doc["_id"]] = doc
        response = await http.get("/api/v1/agents")
        assert response.status_code == 200
        # "old" holds only a revoked key; globex's "gus" is another tenant's. Keys from before
        # roles (none stored) keep the admin rights every key had then.
        person = {"kind": "agent", "role": "admin", "active": True, "email": None}
        assert response.json() == {"items": [
            {"id": "ana", "display_name": "Ana", **person},
            {"id": "bea", "display_name": "Bea", **person}]}

    async def test_needs_a_credential(self, http: httpx.AsyncClient) -> None:
        response = await http.get("/api/v1/agents", headers={"Authorization": ""})
        assert response.status_code == 401


class TestMe:
    async def test_lists_the_tenants_numbers_and_never_a_token(
            self, http: httpx.AsyncClient) -> None:
        response = await http.get("/api/v1/me")
        assert response.status_code == 200
        body = response.json()
        assert body["channels"] == [{"phone_number_id": "1001",
                                     "display_phone_number": "15550001001",
                                     "display_number": "+1 555-000-1001",
                                     "waba_id": "2001"}]
        assert "acme-token" not in response.text


class TestExpiredSession:
    async def test_is_refused_and_deleted_when_found(self, wiring: Wiring) -> None:
        token = "expired-session-token"
        wiring.repository.sessions[digest(token)] = {
            "_id": digest(token), "key_hash": digest(ACME_KEY), "tenant_id": "acme",
            "agent_id": "ana", "created_at": NOW - timedelta(hours=13),
            "expires_at": NOW - timedelta(hours=1)}
        app = WithState(create_app(InboxApiSettings()), wiring.state)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://inbox",
                                     cookies={"wai_session": token}) as browser:
            response = await browser.get("/api/v1/me")
        assert response.status_code == 401
        assert response.json()["error"] == "session_expired"
        assert digest(token) not in wiring.repository.sessions

    async def test_a_live_session_is_kept(self, wiring: Wiring) -> None:
        app = WithState(create_app(InboxApiSettings()), wiring.state)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://inbox") as browser:
            await browser.post("/api/v1/session", json={"api_key": ACME_KEY})
            assert (await browser.get("/api/v1/me")).status_code == 200
        assert len(wiring.repository.sessions) == 1
