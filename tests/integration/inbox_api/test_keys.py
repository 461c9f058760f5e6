"""API keys through the API on the real stack (issue 16): an admin makes a service key (its
secret shown once, stored as a digest), the key works, and once revoked it is refused at once,
with the sessions made from it; an agent is refused with a reason; another tenant's key id is a
404; every role lists the tenant's numbers."""

from __future__ import annotations

import httpx
import pytest

from services.inbox_api.accounts.credentials import digest
from services.inbox_api.admin import create_key
from tests.integration.inbox_api.stack import RunningInbox

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


async def test_an_admin_makes_a_service_key_that_works_until_revoked(
        inbox: RunningInbox) -> None:
    async with inbox.client() as admin:
        made = await admin.post("/api/v1/keys", json={"name": "CRM sync", "kind": "service"})
        assert made.status_code == 201, made.text
        key = made.json()
        secret = key["secret"]
        stored = await inbox.db["api_keys"].find_one({"_id": digest(secret)})
        assert stored is not None
        assert secret not in str(stored)
        assert (stored["tenant_id"], stored["kind"], stored["display_name"]) == (
            "acme", "service", "CRM sync")

        listed = (await admin.get("/api/v1/keys")).json()["items"]
        assert key["id"] in [k["id"] for k in listed]
        assert secret not in str(listed)
        assert all("secret" not in k for k in listed)

        # The key works, as a bearer and for a browser session.
        async with inbox.client(secret) as crm:
            me = await crm.get("/api/v1/me")
            assert (me.status_code, me.json()["kind"], me.json()["agent_id"]) == (
                200, "service", key["agent_id"])
            assert (await crm.get("/api/v1/conversations")).status_code == 200
        async with httpx.AsyncClient(base_url=inbox.base_url, timeout=30.0) as browser:
            signed = await browser.post("/api/v1/session", json={"api_key": secret})
            assert signed.status_code == 204

            revoked = await admin.delete(f"/api/v1/keys/{key['id']}")
            assert (revoked.status_code, revoked.json()["id"]) == (200, key["id"])
            # Refused on the very next request, both the key and the session made from it.
            async with inbox.client(secret) as crm:
                refused = await crm.get("/api/v1/me")
            assert (refused.status_code, refused.json()["error"]) == (401, "invalid_credential")
            assert (await browser.get("/api/v1/me")).status_code == 401
        assert await inbox.db["sessions"].find_one({"key_hash": digest(secret)}) is None
        assert key["id"] not in [k["id"] for k in
                                 (await admin.get("/api/v1/keys")).json()["items"]]


async def test_an_agent_is_refused_and_ids_stay_in_the_tenant(inbox: RunningInbox) -> None:
    agent_key = await create_key(inbox.db, tenant="acme", agent="nia", name="Nia")
    async with inbox.client(agent_key) as agent:
        for refused in (await agent.get("/api/v1/keys"),
                        await agent.post("/api/v1/keys", json={"name": "mine"}),
                        await agent.delete("/api/v1/keys/key_0123456789abcdef")):
            assert refused.status_code == 403, refused.text
            assert refused.json()["error"] == "admin_only"
            assert "admin" in refused.json()["detail"]
        numbers = (await agent.get("/api/v1/channels")).json()["items"]
        assert [n["phone_number_id"] for n in numbers] == [inbox.channel.phone_number_id]
        assert "token" not in str(numbers)

    async with inbox.client(inbox.other_key) as globex:
        theirs = (await globex.get("/api/v1/keys")).json()["items"]
        assert [k["agent_id"] for k in theirs] == ["gus"]
    async with inbox.client() as admin:
        response = await admin.delete(f"/api/v1/keys/{theirs[0]['id']}")
        assert (response.status_code, response.json()["error"]) == (404, "key_not_found")
        bad = await admin.post("/api/v1/keys", json={"name": "x", "kind": "agent",
                                                     "agent_id": "ghost"})
        assert (bad.status_code, bad.json()["field"]) == (422, "agent_id")
    async with inbox.client(inbox.other_key) as globex:
        assert (await globex.get("/api/v1/me")).status_code == 200
