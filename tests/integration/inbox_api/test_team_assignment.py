"""Assignment on the real stack (issue 16 item 2): to a colleague or a team, validated (an
unknown id is 422 on ``assignee_id``), unassign, the list's Mine / Unassigned / team filters,
teams behind the tenant wall (404), and round-robin: 30 new conversations over 3 agents who
opted in are 10 each (conversation_store assigns each in its first write)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest

from services.inbox_api.admin import create_key
from tests.integration.inbox_api.stack import RunningInbox
from tests.integration.inbox_api.test_api import eventually

pytestmark = pytest.mark.integration


async def listed(http: httpx.AsyncClient, **params: str) -> list[str]:
    response = await http.get("/api/v1/conversations", params=params)
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["items"]]


async def assigned(http: httpx.AsyncClient, cid: str, assignee: str | None) -> bool | None:
    response = await http.get(f"/api/v1/conversations/{cid}")
    assert response.status_code == 200, response.text
    return True if response.json()["assignee_id"] == assignee else None


async def test_assign_to_a_colleague_or_a_team_and_filter_the_list(inbox: RunningInbox) -> None:
    bea_key = await create_key(inbox.db, tenant="acme", agent="bea", name="Bea Lopez")
    await inbox.customer_says("Hi, my invoice is wrong")
    cid = inbox.conversation_id()
    async with inbox.client() as http, inbox.client(bea_key) as bea, \
            inbox.client(inbox.other_key) as globex:
        # Anything but an active agent or a team of acme is refused, and nothing changes.
        for ghost in ("ghost-agent", "gus", "team:team_unknown"):
            refused = await http.post(f"/api/v1/conversations/{cid}/assignee",
                                      json={"assignee_id": ghost})
            assert refused.status_code == 422, refused.text
            assert refused.json()["field"] == "assignee_id"
            assert refused.json()["error"] == "unknown_assignee"

        # To a colleague: in Bea's "mine", not in Ana's, not unassigned.
        ok = await http.post(f"/api/v1/conversations/{cid}/assignee", json={"assignee_id": "bea"})
        assert ok.status_code == 202, ok.text
        await eventually(lambda: assigned(http, cid, "bea"))
        assert cid in await listed(bea, filter="mine")
        assert cid not in await listed(http, filter="mine")
        assert cid not in await listed(http, filter="unassigned")

        # A team: created with its members, listed by its filter; another tenant's is 404.
        created = await http.post("/api/v1/teams", json={"name": "Billing",
                                                         "member_ids": ["ana", "bea"]})
        assert created.status_code == 201, created.text
        team: dict[str, Any] = created.json()
        bad = await http.post("/api/v1/teams", json={"name": "Ghosts", "member_ids": ["gus"]})
        assert bad.status_code == 422
        assert bad.json()["field"] == "member_ids"
        for method in ("GET", "PUT", "DELETE"):
            response = await globex.request(method, f"/api/v1/teams/{team['id']}",
                                            json={"name": "x"} if method == "PUT" else None)
            assert response.status_code == 404, (method, response.text)
        assert (await globex.get("/api/v1/teams")).json()["items"] == []
        ok = await http.post(f"/api/v1/conversations/{cid}/assignee",
                             json={"assignee_id": team["assignee_id"]})
        assert ok.status_code == 202, ok.text
        await eventually(lambda: assigned(http, cid, team["assignee_id"]))
        assert await listed(http, team=team["id"]) == [cid]
        assert cid not in await listed(bea, filter="mine")

        # Unassigned again.
        ok = await http.post(f"/api/v1/conversations/{cid}/assignee", json={"assignee_id": None})
        assert ok.status_code == 202, ok.text
        await eventually(lambda: assigned(http, cid, None))
        assert cid in await listed(http, filter="unassigned")
        assert await listed(http, team=team["id"]) == []


async def test_round_robin_spreads_30_new_conversations_evenly_over_3_agents(
        inbox: RunningInbox) -> None:
    keys = [inbox.api_key]
    for agent in ("bea", "cai"):
        keys.append(await create_key(inbox.db, tenant="acme", agent=agent,
                                     name=agent.title()))
    async with inbox.client() as admin:
        # An agent may not switch it on; an admin may.
        async with inbox.client(keys[1]) as bea:
            refused = await bea.put("/api/v1/round-robin", json={"enabled": True})
            assert refused.status_code == 403, refused.text
        for key in keys:
            async with inbox.client(key) as person:
                opted = await person.put("/api/v1/round-robin/me", json={"available": True})
                assert opted.status_code == 200, opted.text
        state = await admin.put("/api/v1/round-robin", json={"enabled": True})
        assert state.status_code == 200, state.text
        assert sorted(state.json()["members"]) == ["ana", "bea", "cai"]

        customers = [f"1650555{2000 + n}" for n in range(30)]
        for customer in customers:
            await inbox.customer_says("Hello!", wa_id=customer, name=f"C{customer[-2:]}")
        cids = {inbox.conversation_id(c) for c in customers}
        docs = await inbox.db["conversations"].find({"_id": {"$in": sorted(cids)}}).to_list(None)
        assert len(docs) == 30
        assert Counter(d["assignee_id"] for d in docs) == {"ana": 10, "bea": 10, "cai": 10}
        assert {d["assigned_by"] for d in docs} == {"round-robin"}
        # Each agent's "mine" shows their ten.
        mine = await listed(admin, filter="mine", limit="100")
        assert len(set(mine) & cids) == 10

        # Switched off: the next new conversation stays unassigned.
        await admin.put("/api/v1/round-robin", json={"enabled": False})
        await inbox.customer_says("Anyone?", wa_id="16505553999", name="Late")
        late = await inbox.db["conversations"].find_one(
            {"_id": inbox.conversation_id("16505553999")})
        assert late is not None
        assert late["assignee_id"] is None
