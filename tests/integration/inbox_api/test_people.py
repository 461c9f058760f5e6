"""People and roles on the real stack (issue 16 item 1): an admin invites, the invited person
accepts and signs in with email and password; repeated wrong passwords are throttled; a
deactivated person's session is refused at once; an agent managing templates or campaigns gets
403; another tenant's agent id is a 404."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.inbox_api.admin import _parser, _run, create_agent, invite
from services.inbox_api.settings import InboxApiSettings
from shared.config import InfraSettings
from tests.integration.inbox_api.stack import RunningInbox

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

PASSWORD = "correct horse battery"


def browser(inbox: RunningInbox) -> httpx.AsyncClient:
    """A client with no key: it carries the session cookie, as the web inbox does."""
    return httpx.AsyncClient(base_url=inbox.base_url, timeout=30.0)


async def accept(person: httpx.AsyncClient, token: str) -> str:
    """Accept in ``person``'s browser (which is then signed in): the new agent id."""
    accepted = await person.post(f"/api/v1/invitations/{token}", json={"password": PASSWORD})
    assert accepted.status_code == 201, accepted.text
    agent_id: str = accepted.json()["id"]
    return agent_id


async def test_invite_accept_sign_in_throttle_and_deactivate(inbox: RunningInbox) -> None:
    async with inbox.client() as admin:
        # ana's key is the tenant's first (create-tenant): an admin's.
        me = (await admin.get("/api/v1/me")).json()
        assert me["role"] == "admin"
        invited = await admin.post("/api/v1/agents/invitations", json={
            "name": "Bea Agent", "email": "Bea@Acme.test", "role": "agent"})
        assert invited.status_code == 201, invited.text
        token = invited.json()["token"]
        assert invited.json()["link_path"] == f"/#invite={token}"
        assert token not in str(await inbox.db["invitations"].find_one({}))

        # Accepting signs the new person in; the link works once.
        async with browser(inbox) as bea:
            bea_id = await accept(bea, token)
            assert (await bea.get("/api/v1/me")).json()["role"] == "agent"
            again = await bea.post(f"/api/v1/invitations/{token}", json={"password": PASSWORD})
            assert again.status_code == 404

            # A second browser signs in with email and password.
            async with browser(inbox) as laptop:
                signed = await laptop.post("/api/v1/session", json={
                    "email": "bea@acme.test", "password": PASSWORD})
                assert signed.status_code == 204, signed.text
                assert (await laptop.get("/api/v1/me")).json()["agent_id"] == bea_id

                listed = {a["id"]: a for a in (await admin.get("/api/v1/agents")).json()["items"]}
                assert listed[bea_id] == {"id": bea_id, "display_name": "Bea Agent",
                                          "kind": "agent", "role": "agent", "active": True,
                                          "email": "bea@acme.test"}

                # Deactivated: both sessions are refused on their very next request.
                done = await admin.post(f"/api/v1/agents/{bea_id}/deactivate")
                assert (done.status_code, done.json()["active"]) == (200, False)
                assert (await bea.get("/api/v1/conversations")).status_code == 401
                assert (await laptop.get("/api/v1/me")).status_code == 401
                refused = await laptop.post("/api/v1/session", json={
                    "email": "bea@acme.test", "password": PASSWORD})
                assert (refused.status_code, refused.json()["error"]) == (
                    401, "agent_deactivated")
        assert await inbox.db["sessions"].find_one({"agent_id": bea_id}) is None


async def test_wrong_passwords_are_throttled_with_retry_after(inbox: RunningInbox) -> None:
    await create_agent(inbox.db, tenant="acme", email="cy@acme.test", name="Cy",
                       password=PASSWORD)
    async with browser(inbox) as http:
        wrong = {"email": "cy@acme.test", "password": "not the password"}
        failures = [await http.post("/api/v1/session", json=wrong) for _ in range(5)]
        assert [f.status_code for f in failures] == [401] * 5
        assert failures[-1].json() == {"error": "invalid_credential",
                                       "detail": "Wrong email or password."}
        # The sixth try waits, even with the right password.
        throttled = await http.post("/api/v1/session",
                                    json={"email": "cy@acme.test", "password": PASSWORD})
        assert throttled.status_code == 429
        assert 0 < int(throttled.headers["Retry-After"]) <= 15 * 60
        assert throttled.json()["error"] == "sign_in_throttled"
        assert throttled.json()["detail"].startswith("Too many failed sign-ins")
        # Another person's sign-in from elsewhere is not affected by cy's count.
    await create_agent(inbox.db, tenant="acme", email="dee@acme.test", name="Dee",
                       password=PASSWORD)
    async with browser(inbox) as http:
        ok = await http.post("/api/v1/session", json={"email": "dee@acme.test",
                                                      "password": PASSWORD})
        assert ok.status_code == 204


async def test_agents_cannot_manage_templates_or_campaigns_and_ids_stay_in_the_tenant(
        inbox: RunningInbox) -> None:
    link = await invite(inbox.db, tenant="acme", email="eve@acme.test", name="Eve",
                        base_url=inbox.base_url)
    assert link.startswith(f"{inbox.base_url}/#invite=")
    async with browser(inbox) as eve:
        eve_id = await accept(eve, link.rsplit("=", 1)[1])
        template = await eve.post("/api/v1/templates", json={
            "business_phone_number_id": inbox.channel.phone_number_id, "name": "promo_x",
            "language": "en_US", "category": "MARKETING",
            "components": [{"type": "BODY", "text": "Hello"}]})
        campaign = await eve.post("/api/v1/campaigns", json={
            "name": "Spring", "business_phone_number_id": inbox.channel.phone_number_id,
            "template_name": "hello_world", "language": "en_US"})
        invitation = await eve.post("/api/v1/agents/invitations",
                                    json={"name": "Zed", "email": "zed@acme.test"})
        for refused in (template, campaign, invitation):
            assert refused.status_code == 403, refused.text
            assert refused.json()["error"] == "admin_only"
            assert "admin" in refused.json()["detail"]
        # An agent still reads templates (the composer's list).
        assert (await eve.get("/api/v1/templates")).status_code == 200

    async with inbox.client(inbox.other_key) as globex:
        other = await globex.post(f"/api/v1/agents/{eve_id}/deactivate")
        assert (other.status_code, other.json()["error"]) == (404, "agent_not_found")
        ids = [a["id"] for a in (await globex.get("/api/v1/agents")).json()["items"]]
        assert eve_id not in ids
    async with inbox.client() as admin:
        listed = {a["id"]: a["active"] for a in (await admin.get("/api/v1/agents")).json()["items"]}
        assert listed[eve_id] is True


async def test_the_command_line_bootstraps_an_admin_and_adds_people(
        settings: InfraSettings, db: AsyncDatabase[dict[str, Any]],
        capsys: pytest.CaptureFixture[str]) -> None:
    config = InboxApiSettings(**settings.model_dump())

    async def run(*argv: str) -> tuple[int, str, str]:
        code = await _run(_parser().parse_args(argv), config)
        printed = capsys.readouterr()
        return code, printed.out, printed.err

    code, out, _ = await run("create-tenant", "--tenant", "initech", "--phone-number-id", "7001",
                          "--waba-id", "8001", "--agent", "pat", "--name", "Pat",
                          "--email", "Pat@Initech.test", "--base-url", "http://inbox.local")
    key, invitation = out.splitlines()
    assert code == 0
    assert key.startswith("wai_")
    assert invitation.startswith("admin invitation: http://inbox.local/#invite=")
    stored = await db["invitations"].find_one({})
    assert stored is not None
    assert (stored["email"], stored["role"], stored["tenant_id"]) == (
        "pat@initech.test", "admin", "initech")
    assert await db["api_keys"].find_one({"agent_id": "pat", "role": "admin"}) is not None

    code, out, _ = await run("create-agent", "--tenant", "initech", "--email",
                             "sam@initech.test", "--name", "Sam")
    assert code == 0
    assert out.startswith("agent agt_")
    assert "sign in as sam@initech.test with password " in out
    password = out.rsplit(" ", 1)[1].strip()
    person = await db["agents"].find_one({"email": "sam@initech.test"})
    assert person is not None
    assert (person["role"], person["active"]) == ("agent", True)
    assert password not in str(person)

    code, _, err = await run("create-agent", "--tenant", "initech", "--email",
                             "SAM@initech.test", "--name", "Sam again")
    assert code == 1
    assert "already" in err
