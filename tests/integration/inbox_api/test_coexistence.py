"""Issue 15 on the real stack (Kafka, the database, the store and inbox_api): edits and deletions
change the original message in any order and with duplicates; a message sent from the WhatsApp
Business app appears once as outbound and opens no window; a call is one line; a status of an
unknown message makes no conversation in the list.

Each story is published to ``whatsapp.inbound.v1`` as webhook_ingest would publish it, then a
last marker (a status of a message nobody knows, which changes nothing visible) on the same
partition: once its stub is stored, everything before it was folded.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.config import InfraSettings
from tests.integration.inbox_api.coexistence_events import Customer, conversation_stored, send
from tests.integration.inbox_api.stack import RunningInbox
from tests.integration.inbox_api.test_api import eventually, thread

pytestmark = pytest.mark.integration

DEADLINE_SECONDS = 60.0


async def settled(inbox: RunningInbox, settings: InfraSettings, producer: Any,
                  customer: Customer, marker: str) -> None:
    """Publishes the marker after the story and returns once the store folded it."""
    await send(settings, producer, customer.status(marker, datetime.now(UTC), "sent"))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_SECONDS
    while await inbox.db["messages"].find_one({"_id": f"{customer.cid}/{marker}"}) is None:
        if loop.time() > deadline:
            raise TimeoutError(f"the store never folded {customer.cid}'s story")
        await asyncio.sleep(0.05)


async def listed(http: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    response = await http.get("/api/v1/conversations", params={"limit": 100})
    assert response.status_code == 200, response.text
    return {c["id"]: c for c in response.json()["items"]}


async def test_edits_and_deletes_change_the_original_in_any_order(
        inbox: RunningInbox, settings: InfraSettings, producer: Any) -> None:
    t = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    stories: dict[str, tuple[Customer, list[Any]]] = {}
    for n, wa_id in enumerate(("16505550201", "16505550202", "16505550203", "16505550204")):
        c = Customer(inbox, wa_id, f"Customer {n}")
        original = c.says(f"w.{wa_id}", t, "See you at 5")
        first = c.edits(f"e1.{wa_id}", f"w.{wa_id}", t + timedelta(seconds=30), "See you at 6")
        second = c.edits(f"e2.{wa_id}", f"w.{wa_id}", t + timedelta(seconds=60), "See you at 7")
        gone = c.deletes(f"r.{wa_id}", f"w.{wa_id}", t + timedelta(seconds=90))
        stories[wa_id] = (c, [
            [original, first, gone],  # in order, then deleted
            [gone, first, original, gone],  # deleted first, a duplicate of the deletion
            [first, original, first],  # the edit before its message, and twice
            [second, original, first, second],  # two edits, newest first, duplicated
        ][n])
    for _, events in stories.values():
        await send(settings, producer, *events)
    for customer, _ in stories.values():
        await settled(inbox, settings, producer, customer, f"marker.{customer.wa_id}")

    async with inbox.client() as http:
        shown = {wa_id: await thread(http, c.cid) for wa_id, (c, _) in stories.items()}
        conversations = await listed(http)
    for wa_id in ("16505550201", "16505550202"):
        [message] = shown[wa_id]  # one bubble: neither the edit nor the deletion is another
        assert message["deleted"] is True
        assert (message["text"], message["content"], message["edit_history"]) == ("", {}, [])
        assert "See you" not in str(message)
        assert conversations[stories[wa_id][0].cid]["last_message"]["preview"] == (
            "This message was deleted")
    [edited] = shown["16505550203"]
    assert (edited["text"], edited["edited"], edited["deleted"]) == ("See you at 6", True, False)
    assert [v["text"] for v in edited["edit_history"]] == ["See you at 5"]
    [twice] = shown["16505550204"]
    assert twice["text"] == "See you at 7"
    assert [v["text"] for v in twice["edit_history"]] == ["See you at 5", "See you at 6"]
    for customer, _ in stories.values():
        assert conversations[customer.cid]["unread_count"] == 1  # the edits are not unread
    # The audit record is in the database, where the agents' API never looks.
    doc = await inbox.db["messages"].find_one({"wamid": "w.16505550201"})
    assert doc is not None
    assert doc["revoked"]["content"] == {"body": "See you at 6"}


async def test_a_message_sent_from_the_app_appears_once_and_opens_no_window(
        inbox: RunningInbox, settings: InfraSettings, producer: Any) -> None:
    c = Customer(inbox, "16505550211", "Eco")
    t = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    echo = c.app_sends("x.16505550211", t, "Your table is booked for 8 pm")
    await send(settings, producer, c.status("x.16505550211", t + timedelta(seconds=2),
                                            "delivered"),  # the status before its echo
               echo, echo, c.edits("x2.16505550211", "x.16505550211", t + timedelta(seconds=20),
                                   "Your table is booked for 9 pm", app=True), echo)
    await settled(inbox, settings, producer, c, "marker.16505550211")
    async with inbox.client() as http:
        [message] = await thread(http, c.cid)
        assert (message["direction"], message["from_app"], message["status"]) == (
            "outbound", True, "delivered")
        assert message["text"] == "Your table is booked for 9 pm"
        shown = (await http.get(f"/api/v1/conversations/{c.cid}")).json()
        assert shown["window"] == {"open": False, "expires_at": None}
        assert shown["unread_count"] == 0
        # The window is closed: a free-form reply is refused (a business message opens none).
        reply = await http.post(f"/api/v1/conversations/{c.cid}/messages",
                                json={"kind": "text", "text": "See you!"})
        assert reply.status_code == 409, reply.text


async def test_a_call_is_one_line_and_opens_the_window(
        inbox: RunningInbox, settings: InfraSettings, producer: Any) -> None:
    c = Customer(inbox, "16505550221", "Caller")
    t = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    ended = c.calls("call.1", t + timedelta(seconds=200), "terminate", status="COMPLETED",
                    duration_seconds=192, started_at=t + timedelta(seconds=8),
                    ended_at=t + timedelta(seconds=200))
    await send(settings, producer, ended, c.calls("call.1", t, "connect"), ended)
    await conversation_stored(inbox, c.cid, listed=True)
    await settled(inbox, settings, producer, c, "marker.16505550221")
    async with inbox.client() as http:
        [line] = await thread(http, c.cid)
        assert (line["type"], line["direction"], line["text"]) == (
            "call", "system", "Call answered · 3 min 12 s")
        assert (line["call"]["direction"], line["call"]["outcome"]) == ("inbound", "answered")
        shown = (await http.get(f"/api/v1/conversations/{c.cid}")).json()
        assert shown["window"]["open"] is True
        assert shown["last_message"]["preview"] == "Call answered · 3 min 12 s"


async def test_a_status_of_an_unknown_message_lists_no_conversation(
        inbox: RunningInbox, settings: InfraSettings, producer: Any) -> None:
    c = Customer(inbox, "16505550231", "Ghost")
    t = datetime.now(UTC).replace(microsecond=0)
    await send(settings, producer, c.status("sent.elsewhere", t, "delivered"),
               c.status("sent.elsewhere", t + timedelta(seconds=1), "read"))
    await conversation_stored(inbox, c.cid, listed=False)
    async with inbox.client() as http:
        assert c.cid not in await listed(http)
        found = await http.get("/api/v1/conversations", params={"q": c.wa_id})
        assert c.cid not in {x["id"] for x in found.json()["items"]}
    # The customer writes: now it is a conversation, listed once.
    await inbox.customer_says("Hello?", wa_id=c.wa_id, name="Ghost")
    async with inbox.client() as http:
        assert c.cid in await listed(http)


async def test_through_meta_s_webhooks(inbox: RunningInbox) -> None:
    """The same through the sandbox's webhooks and webhook_ingest: an edit, a deletion, a call
    and a message from the Business app, as Meta posts them."""
    number, wa_id = inbox.channel.phone_number_id, "16505550251"
    cid = inbox.conversation_id(wa_id)
    await inbox.customer_says("Table for 4 at 8?", wa_id=wa_id, name="Webhook Wanda")
    await inbox.customer_says("My card is 4111 1111", wa_id=wa_id, name="Webhook Wanda")
    async with inbox.client() as http:
        first, second = await thread(http, cid)
        await inbox.sandbox.customer_edits(number, wa_id, first["wamid"], "Table for 5 at 8?")
        await inbox.sandbox.customer_deletes(number, wa_id, second["wamid"])
        await inbox.sandbox.customer_calls(number, wa_id, answered=False)
        await inbox.sandbox.app_sends(number, wa_id, "Booked: 5 at 8 pm")

        async def settled_thread() -> dict[str, dict[str, Any]] | None:
            # Meta's times are whole seconds: these four share one, so no order is assumed.
            items = {m["wamid"] or m["id"]: m for m in await thread(http, cid)}
            edited, deleted = items.get(first["wamid"]), items.get(second["wamid"])
            done = (len(items) == 4 and edited is not None and deleted is not None
                    and edited["text"] == "Table for 5 at 8?" and deleted["deleted"]
                    and any(m.get("call") for m in items.values())
                    and any(m["from_app"] for m in items.values()))
            return items if done else None

        shown_items = await eventually(settled_thread)
        items = list(shown_items.values())
        assert [v["text"] for v in shown_items[first["wamid"]]["edit_history"]] == [
            "Table for 4 at 8?"]
        assert "4111" not in str(items)
        [line] = [m for m in items if m.get("call")]
        assert line["text"] == "Missed call"
        [app] = [m for m in items if m["from_app"]]
        assert app["direction"] == "outbound"
        shown = (await http.get(f"/api/v1/conversations/{cid}")).json()
        assert shown["unread_count"] == 2
