"""Presence on the real stack (issue 16 item 7): two agents of one tenant on one conversation
(Ana views, Bea sees her; Ana types, Bea sees "typing"; typing lapses to viewing and an entry
nobody renews expires, on inbox_api's injected clock, not by waiting; leaving removes it), the
state in MongoDB (what a second replica would read), and the tenant wall: another tenant's
conversation is 404 and its agents never see acme's."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from services.inbox_api.admin import create_key
from services.inbox_api.presence.rules import TYPING_TTL, VIEWING_TTL
from tests.integration.inbox_api.stack import RunningInbox

pytestmark = pytest.mark.integration

S = timedelta(seconds=1)


async def present(http: httpx.AsyncClient, cid: str) -> list[tuple[str, str]]:
    response = await http.get(f"/api/v1/conversations/{cid}/presence")
    assert response.status_code == 200, response.text
    return [(p["agent_id"], p["state"]) for p in response.json()["items"]]


async def beat(http: httpx.AsyncClient, cid: str, state: str) -> dict[str, Any]:
    response = await http.put(f"/api/v1/conversations/{cid}/presence", json={"state": state})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_two_agents_see_each_other_view_and_type(inbox: RunningInbox) -> None:
    bea_key = await create_key(inbox.db, tenant="acme", agent="bea", name="Bea Lopez")
    await inbox.customer_says("Is anyone there?")
    cid = inbox.conversation_id()
    async with inbox.client() as ana, inbox.client(bea_key) as bea:
        assert await present(bea, cid) == []

        # Ana opens the thread: Bea sees her viewing, by name.
        await beat(ana, cid, "viewing")
        listed = (await bea.get(f"/api/v1/conversations/{cid}/presence")).json()
        assert [(p["agent_id"], p["display_name"], p["state"]) for p in listed["items"]] == [
            ("ana", "Ana Agent", "viewing")]
        assert listed["heartbeat_seconds"] == 10

        # Bea's own heartbeat answers with both; Ana starts typing: first in the list.
        answer = await beat(bea, cid, "viewing")
        assert [(p["agent_id"], p["state"]) for p in answer["items"]] == [
            ("ana", "viewing"), ("bea", "viewing")]
        await beat(ana, cid, "typing")
        assert await present(bea, cid) == [("ana", "typing"), ("bea", "viewing")]

        # The state is in MongoDB, one document per agent: any replica reads the same.
        docs = await inbox.db["presence"].find({"conversation_id": cid}).to_list(None)
        assert sorted(d["_id"] for d in docs) == [f"acme|{cid}|ana", f"acme|{cid}|bea"]

        # Typing lapses to viewing; a "viewing" beat ends it at once.
        inbox.clock.shift = TYPING_TTL
        assert await present(bea, cid) == [("ana", "viewing"), ("bea", "viewing")]
        inbox.clock.shift = timedelta(0)
        await beat(ana, cid, "typing")
        await beat(ana, cid, "viewing")
        assert await present(bea, cid) == [("ana", "viewing"), ("bea", "viewing")]

        # Ana leaves the thread: gone for Bea.
        left = await ana.delete(f"/api/v1/conversations/{cid}/presence")
        assert left.status_code == 204, left.text
        assert await present(bea, cid) == [("bea", "viewing")]


async def test_an_entry_nobody_renews_expires(inbox: RunningInbox) -> None:
    bea_key = await create_key(inbox.db, tenant="acme", agent="bea", name="Bea Lopez")
    await inbox.customer_says("Hello?")
    cid = inbox.conversation_id()
    async with inbox.client() as ana, inbox.client(bea_key) as bea:
        await beat(ana, cid, "viewing")  # then Ana's tab dies: no goodbye
        inbox.clock.shift = VIEWING_TTL - S
        assert await present(bea, cid) == [("ana", "viewing")]
        inbox.clock.shift = VIEWING_TTL + S
        assert await present(bea, cid) == []
        # Bea's heartbeat sweeps the expired entry (no TTL index on the local FerretDB).
        assert (await beat(bea, cid, "viewing"))["items"][0]["agent_id"] == "bea"
        left = await inbox.db["presence"].find({"conversation_id": cid}).to_list(None)
        assert [d["agent_id"] for d in left] == ["bea"]


async def test_another_tenant_gets_404_and_sees_nobody(inbox: RunningInbox) -> None:
    await inbox.customer_says("Hi")
    cid = inbox.conversation_id()
    async with inbox.client(inbox.other_key) as gus, inbox.client() as ana:
        await beat(ana, cid, "typing")
        for method, body in (("GET", None), ("PUT", {"state": "viewing"}), ("DELETE", None)):
            response = await gus.request(method, f"/api/v1/conversations/{cid}/presence",
                                         json=body)
            assert response.status_code == 404, (method, response.text)
            assert response.json()["error"] == "conversation_not_found"
        # Gus's 404s changed nothing: Ana is still there, and nobody else.
        assert await present(ana, cid) == [("ana", "typing")]

        bad = await ana.put(f"/api/v1/conversations/{cid}/presence", json={"state": "away"})
        assert bad.status_code == 422
        assert bad.json()["field"] == "state"
