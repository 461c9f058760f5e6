"""One customer seen apart by number and by BSUID, then merged, end to end on the real stack
(issue 14): an agent's template goes out by number (a thread keyed by the number); the customer,
whose number Meta hides, writes with only their BSUID (a second thread); then a message naming
both merges them. The inbox lists one thread holding every message, with the unread count of
both; the other answers with ``merged_into`` and refuses commands; a reply reaches the customer.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.inbox_api.stack import RunningInbox
from tests.integration.inbox_api.test_api import eventually, thread
from tests.integration.inbox_api.test_username_customers import stored

pytestmark = pytest.mark.integration

NUMBER = "16505550199"
HELD = 3600.0  # Meta's statuses of the template wait: theirs would name both ids at once


async def test_a_thread_by_number_and_one_by_bsuid_become_one(inbox: RunningInbox) -> None:
    pnid = inbox.channel.phone_number_id
    survivor = f"{pnid}:{NUMBER}"
    await inbox.sandbox.configure(sent_delay_seconds=HELD, delivered_delay_seconds=HELD,
                                  read_delay_seconds=HELD)
    async with inbox.client() as http:
        # 1. The agent's template, by number: a thread keyed by the number.
        opened = await http.post("/api/v1/conversations", json={
            "business_phone_number_id": pnid, "customer_wa_id": NUMBER,
            "template_name": "order_update", "language": "en_US",
            "variables": {"1": "Ana", "2": "A-1001"}})
        assert opened.status_code == 202, opened.text
        assert opened.json()["conversation_id"] == survivor

        async def template_shown() -> list[dict[str, Any]] | None:
            messages = await thread(http, survivor) if (await http.get(
                f"/api/v1/conversations/{survivor}")).status_code == 200 else []
            return messages or None

        await eventually(template_shown)

        # 2. The customer, whose number Meta hides, writes with their BSUID only: a second
        # thread (nothing yet says the two are one person).
        first = await inbox.sandbox.customer_says(pnid, NUMBER, "Is my order on its way?",
                                                  name="Ana", username="ana.g",
                                                  hide_number=True)
        assert first.from_wa_id == ""
        absorbed = (await stored(inbox, first))["conversation_id"]
        assert absorbed != survivor
        assert sorted(await listed(http)) == sorted([survivor, absorbed])

        # 3. A message naming both: the threads merge into the number's.
        shared = await inbox.sandbox.share_number(pnid, NUMBER, how="message",
                                                  text="It's me, here is my number", name="Ana")
        assert (await stored(inbox, shared))["conversation_id"] == survivor

        async def merged() -> list[dict[str, Any]] | None:
            if await listed(http) != [survivor]:
                return None
            messages = await thread(http, survivor)
            return messages if len(messages) == 3 else None

        messages = await eventually(merged)
        # (Order within one second is not asserted: Meta's inbound timestamps are whole seconds.)
        assert sorted(m["type"] for m in messages) == ["template", "text", "text"]
        assert {m["wamid"] for m in messages if m["direction"] == "inbound"} == {
            first.wamid, shared.wamid}

        shown = (await http.get(f"/api/v1/conversations/{survivor}")).json()
        assert shown["unread_count"] == 2
        assert shown["merged_into"] is None
        assert shown["customer"]["user_id"] == first.from_user_id
        assert shown["customer"]["username"] == "ana.g"
        # Search finds the customer once, by username or by the BSUID thread's message text.
        assert [c["id"] for c in (await http.get(
            "/api/v1/conversations", params={"q": "ana.g"})).json()["items"]] == [survivor]
        assert [c["id"] for c in (await http.get(
            "/api/v1/conversations", params={"q": "on its way"})).json()["items"]] == [survivor]

        # The absorbed thread: hidden, says where it went, and refuses commands.
        gone = await http.get(f"/api/v1/conversations/{absorbed}")
        assert gone.status_code == 200, gone.text
        assert gone.json()["merged_into"] == survivor
        refused = await http.post(f"/api/v1/conversations/{absorbed}/messages",
                                  json={"kind": "text", "text": "Hello?"})
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"] == "conversation_merged"
        assert refused.json()["merged_into"] == survivor

        # 4. The reply, from the merged thread, reaches the customer.
        before = len(await inbox.sandbox.accepted(pnid))
        sent = await http.post(f"/api/v1/conversations/{survivor}/messages",
                               json={"kind": "text", "text": "Yes, it arrives tomorrow."})
        assert sent.status_code == 202, sent.text

        async def reply_out() -> list[Any] | None:
            accepted = await inbox.sandbox.accepted(pnid)
            return accepted[before:] or None

        [request] = await eventually(reply_out)
        assert request.body["text"]["body"] == "Yes, it arrives tomorrow."
        assert request.body["to"].lstrip("+") == NUMBER  # the survivor knows the number
        assert request.http_status == 200

        # 5. Later messages land in the one thread too.
        later = await inbox.sandbox.customer_says(pnid, NUMBER, "Thanks!", name="Ana")
        assert (await stored(inbox, later))["conversation_id"] == survivor
        assert await listed(http) == [survivor]


async def listed(http: Any) -> list[str]:
    response = await http.get("/api/v1/conversations")
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["items"]]
