"""Private notes on the real stack (issue 16 item 3): a note is in the thread's notes for the
tenant's agents and never reaches WhatsApp (the sandbox, as Meta, receives nothing of it); an
@mention marks the conversation in the mentioned agent's list until they open it; another
tenant's conversation is 404 for notes.

"Never" without timing: the note publishes no command at all, and a reply sent after it goes
through the conversation's one lane; once the reply has reached the sandbox, the sandbox has
received everything the inbox ever sent for the conversation, and the note is not among it."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from services.inbox_api.admin import create_key
from tests.integration.inbox_api.stack import RunningInbox
from tests.integration.inbox_api.test_api import eventually

pytestmark = pytest.mark.integration

NOTE = "Private: customer is on the VIP plan, @Bea Lopez please call them back"


async def marker(http: httpx.AsyncClient, cid: str) -> int:
    response = await http.get("/api/v1/conversations")
    assert response.status_code == 200, response.text
    [item] = [c for c in response.json()["items"] if c["id"] == cid]
    return int(item["mentions_unread"])


async def test_a_note_with_a_mention_never_reaches_the_sandbox(inbox: RunningInbox) -> None:
    bea_key = await create_key(inbox.db, tenant="acme", agent="bea", name="Bea Lopez")
    await inbox.customer_says("Hi, can someone call me?")
    cid = inbox.conversation_id()
    async with inbox.client() as ana, inbox.client(bea_key) as bea:
        written = await ana.post(f"/api/v1/conversations/{cid}/notes", json={"text": NOTE})
        assert written.status_code == 201, written.text
        note: dict[str, Any] = written.json()
        assert note["mentions"] == [{"id": "bea", "display_name": "Bea Lopez"}]
        assert note["author_id"] == "ana"

        # Both agents see it among the conversation's notes.
        listed = (await bea.get(f"/api/v1/conversations/{cid}/notes")).json()["items"]
        assert [n["text"] for n in listed] == [NOTE]

        # Bea's list marks the conversation; Ana's does not. Opening it clears Bea's mark.
        assert await marker(bea, cid) == 1
        assert await marker(ana, cid) == 0
        assert (await bea.get(f"/api/v1/conversations/{cid}")).json()["mentions_unread"] == 1
        read = await bea.post(f"/api/v1/conversations/{cid}/mentions/read")
        assert read.status_code == 204, read.text
        assert await marker(bea, cid) == 0

        # A reply after the note: once it reached the sandbox, so has everything before it.
        sent = await ana.post(f"/api/v1/conversations/{cid}/messages",
                              json={"kind": "text", "text": "We will call you today."})
        assert sent.status_code == 202, sent.text

        async def reply_arrived() -> list[Any] | None:
            found = [r for r in await inbox.sandbox.accepted(inbox.channel.phone_number_id)
                     if (r.body.get("text") or {}).get("body") == "We will call you today."]
            return found or None

        await eventually(reply_arrived)
        everything = await inbox.sandbox.received()
        assert everything, "the reply at least"
        assert not [r for r in everything if "VIP plan" in json.dumps(r.body)]
        # Nor is it a message of the thread.
        thread = (await ana.get(f"/api/v1/conversations/{cid}/messages")).json()["items"]
        assert not [m for m in thread if "VIP plan" in m["text"]]


async def test_notes_of_another_tenants_conversation_are_not_found(inbox: RunningInbox) -> None:
    await inbox.customer_says("Hello")
    cid = inbox.conversation_id()
    async with inbox.client(inbox.other_key) as globex, inbox.client() as ana:
        for method, path, body in (
                ("POST", f"/api/v1/conversations/{cid}/notes", {"text": "hi"}),
                ("GET", f"/api/v1/conversations/{cid}/notes", None),
                ("POST", f"/api/v1/conversations/{cid}/mentions/read", None)):
            response = await globex.request(method, path, json=body)
            assert response.status_code == 404, (path, response.text)
        empty = await ana.post(f"/api/v1/conversations/{cid}/notes", json={"text": ""})
        assert empty.status_code == 422
        assert empty.json()["field"] == "text"
        assert (await ana.get(f"/api/v1/conversations/{cid}/notes")).json()["items"] == []
