"""A customer with a WhatsApp username and a hidden number, end to end on the real stack
(issue 14): the sandbox posts webhooks that name them by BSUID only; webhook_ingest resolves the
conversation through the contact directory; the store keeps one thread; the agent's reply goes
out with ``recipient`` (no ``to``) and its ticks come back; sharing the number, a number change
and a BSUID change all keep that one thread.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from sandbox.records import InboundResult
from tests.integration.inbox_api.stack import PIPELINE_DEADLINE_SECONDS, RunningInbox
from tests.integration.inbox_api.test_api import eventually, thread

pytestmark = pytest.mark.integration

NUMBER = "16505550177"  # the customer's real number, hidden from the business at first


async def stored(inbox: RunningInbox, result: InboundResult) -> dict[str, Any]:
    """The message document of a customer message, once the store has folded it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PIPELINE_DEADLINE_SECONDS
    while (doc := await inbox.db["messages"].find_one({"wamid": result.wamid})) is None:
        assert loop.time() < deadline, f"{result.wamid} never reached the thread"
        await asyncio.sleep(0.05)
    return doc


async def conversations_of(http: httpx.AsyncClient, q: str) -> list[dict[str, Any]]:
    response = await http.get("/api/v1/conversations", params={"q": q})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_username_customer_is_one_thread_from_first_message_to_new_number(
        inbox: RunningInbox) -> None:
    pnid = inbox.channel.phone_number_id
    customer = await inbox.sandbox.put_customer(pnid, NUMBER, username="ana.garcia",
                                                hide_number=True)
    bsuid = customer["user_id"]

    first = await inbox.sandbox.customer_says(pnid, NUMBER, "Hi, do you ship to Madrid?",
                                              name="Ana García")
    assert first.from_wa_id == ""  # the webhook carried the BSUID only
    cid = (await stored(inbox, first))["conversation_id"]
    assert cid == f"{pnid}:{bsuid}"

    async with inbox.client() as http:
        shown = await http.get(f"/api/v1/conversations/{cid}")
        assert shown.status_code == 200, shown.text
        who = shown.json()["customer"]
        assert (who["wa_id"], who["user_id"], who["username"], who["name"]) == (
            None, bsuid, "ana.garcia", "Ana García")
        assert [c["id"] for c in await conversations_of(http, "ana.garcia")] == [cid]

        # The reply inside the window goes out by BSUID, and its ticks come back.
        sent = await http.post(f"/api/v1/conversations/{cid}/messages",
                               json={"kind": "text", "text": "Yes, in two days."})
        assert sent.status_code == 202, sent.text
        [request] = await eventually(lambda: _accepted(inbox, pnid))
        assert request.body["recipient"] == bsuid
        assert "to" not in request.body

        async def ticked() -> dict[str, Any] | None:
            replies = [m for m in await thread(http, cid) if m["direction"] == "outbound"]
            return replies[0] if replies and replies[0]["status"] in ("delivered", "read") \
                else None

        await eventually(ticked)

        # She shares her number: the same thread, now with the number.
        shared = await inbox.sandbox.share_number(pnid, NUMBER, how="message")
        assert (await stored(inbox, shared))["conversation_id"] == cid

        async def with_number() -> dict[str, Any] | None:
            body: dict[str, Any] = (await http.get(f"/api/v1/conversations/{cid}")).json()
            return body if body["customer"]["wa_id"] == NUMBER else None

        await eventually(with_number)

        # A new number, then a new BSUID: still one thread, with a system line for the change.
        changed = await inbox.sandbox.change_number(pnid, NUMBER, "16505550178")
        assert (await stored(inbox, changed))["conversation_id"] == cid
        later = await inbox.sandbox.customer_says(pnid, "16505550178", "New phone, same me",
                                                  name="Ana García")
        assert (await stored(inbox, later))["conversation_id"] == cid
        moved = await inbox.sandbox.change_user_id(pnid, "16505550178")
        assert (await stored(inbox, moved))["conversation_id"] == cid
        last = await inbox.sandbox.customer_says(pnid, "16505550178", "Still me",
                                                 name="Ana García")
        assert (await stored(inbox, last))["conversation_id"] == cid

        messages = await thread(http, cid)
        assert any(m["direction"] == "system" for m in messages)
        assert [c["id"] for c in await conversations_of(http, "ana.garcia")] == [cid]
        assert await inbox.db["conversations"].count_documents(
            {"tenant_id": inbox.channel.tenant_id, "business_phone_number_id": pnid}) == 1


async def _accepted(inbox: RunningInbox, pnid: str) -> list[Any] | None:
    accepted = await inbox.sandbox.accepted(pnid)
    return accepted or None
