"""Read receipts and typing on the real stack (issue 15 item 3): opening a thread makes the
sandbox (as Meta) receive exactly one read receipt for the customer's newest message, however
often it is opened; the typing endpoint shows WhatsApp's typing indicator, at most once per 10 s;
with the tenant's read receipts off, the customer hears of neither.

"Exactly one" without timing: the sender handles a conversation's commands in order (one lane
per conversation, one partition per conversation id), so once a later command of the same
conversation has visibly reached the sandbox, every earlier one has been handled.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from sandbox.records import ReceivedRequest
from services.inbox_api.admin import set_tenant_settings
from tests.integration.inbox_api.stack import CUSTOMER, PIPELINE_DEADLINE_SECONDS, RunningInbox
from tests.integration.inbox_api.test_api import eventually

pytestmark = pytest.mark.integration


async def customer_writes(inbox: RunningInbox, text: str) -> str:
    """The customer's message, once the store has it in the thread: its wamid."""
    result = await inbox.sandbox.customer_says(inbox.channel.phone_number_id, CUSTOMER, text,
                                              name="Ana")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PIPELINE_DEADLINE_SECONDS
    while await inbox.db["messages"].find_one({"wamid": result.wamid, "visible": True}) is None:
        assert loop.time() < deadline, f"{result.wamid} never reached the thread"
        await asyncio.sleep(0.05)
    return result.wamid


async def receipts_for(inbox: RunningInbox, wamid: str) -> list[ReceivedRequest] | None:
    found = await inbox.sandbox.read_receipts(inbox.channel.phone_number_id, message_id=wamid)
    return found or None


async def open_thread(http: httpx.AsyncClient, cid: str) -> None:
    response = await http.post(f"/api/v1/conversations/{cid}/read")  # no body: the web inbox's
    assert response.status_code == 202, response.text


async def reply_reaches_meta(inbox: RunningInbox, http: httpx.AsyncClient, cid: str,
                             text: str) -> None:
    """A reply through the conversation's lane, seen accepted at the sandbox: every command of
    the conversation published before it has been handled by then."""
    sent = await http.post(f"/api/v1/conversations/{cid}/messages",
                           json={"kind": "text", "text": text})
    assert sent.status_code == 202, sent.text

    async def accepted() -> list[Any] | None:
        found = [r for r in await inbox.sandbox.accepted(inbox.channel.phone_number_id)
                 if (r.body.get("text") or {}).get("body") == text]
        return found or None

    await eventually(accepted)


async def all_read(http: httpx.AsyncClient, cid: str) -> bool | None:
    """True once the agents' unread count of the conversation is 0."""
    response = await http.get(f"/api/v1/conversations/{cid}")
    assert response.status_code == 200, response.text
    return True if response.json()["unread_count"] == 0 else None


async def test_one_read_receipt_per_customer_message_and_typing_at_most_every_10_s(
        inbox: RunningInbox) -> None:
    cid = inbox.conversation_id()
    first = await customer_writes(inbox, "Hi, is my order on its way?")
    async with inbox.client() as http:
        await open_thread(http, cid)
        await open_thread(http, cid)  # the agent comes back to the thread: nothing new
        [receipt] = await eventually(lambda: receipts_for(inbox, first))
        assert receipt.body == {"messaging_product": "whatsapp", "status": "read",
                                "message_id": first}

        # The customer writes again; opening marks the new message (Meta marks all before it).
        second = await customer_writes(inbox, "Hello?")
        await open_thread(http, cid)
        await eventually(lambda: receipts_for(inbox, second))
        # The second open of the first message was handled before this one: still one each.
        receipts = await inbox.sandbox.read_receipts(inbox.channel.phone_number_id)
        assert [r.read_message_id for r in receipts] == [first, second]
        await eventually(lambda: all_read(http, cid))

        # The agent types: WhatsApp's typing indicator on the newest message, once per 10 s.
        shown = await http.post(f"/api/v1/conversations/{cid}/typing")
        assert shown.status_code == 202, shown.text
        again = await http.post(f"/api/v1/conversations/{cid}/typing")
        assert again.status_code == 429, again.text
        assert again.json()["error"] == "typing_too_soon"
        assert int(again.headers["Retry-After"]) > 0

        await reply_reaches_meta(inbox, http, cid, "Yes, it ships today.")
        typing = await inbox.sandbox.typing_indicators(inbox.channel.phone_number_id)
        assert [t.body for t in typing] == [{
            "messaging_product": "whatsapp", "status": "read", "message_id": second,
            "typing_indicator": {"type": "text"}}]
        assert len(await inbox.sandbox.read_receipts(inbox.channel.phone_number_id)) == 2


async def test_read_receipts_off_the_customer_hears_of_nothing(inbox: RunningInbox) -> None:
    await set_tenant_settings(inbox.db, tenant=inbox.channel.tenant_id, read_receipts=False)
    cid = inbox.conversation_id()
    await customer_writes(inbox, "Hi there")
    async with inbox.client() as http:
        me = (await http.get("/api/v1/me")).json()
        assert me["settings"] == {"read_receipts": False}
        await open_thread(http, cid)
        await eventually(lambda: all_read(http, cid))  # the agents' unread still clears
        refused = await http.post(f"/api/v1/conversations/{cid}/typing")
        assert refused.status_code == 409
        assert refused.json()["error"] == "read_receipts_off"
        await reply_reaches_meta(inbox, http, cid, "Hello!")
        received = await inbox.sandbox.received(inbox.channel.phone_number_id)
        assert [r for r in received if r.marks_read] == []
