"""Coexistence (issue 15, echoes.py): messages sent from the WhatsApp Business app are outbound
messages of the thread, once, never unread, never the customer's window; history syncs fill the
thread in time order without unread counts."""

from __future__ import annotations

from typing import Any

import pytest

from services.conversation_store.documents import message_id
from shared.events import MessageEchoed
from tests.unit.conversation_store.builders import CID, accepted, at, reaction, status
from tests.unit.conversation_store.coexistence import echo, every_order, state, text
from tests.unit.conversation_store.fakes import Feeder

X1 = message_id(CID, "x1")


@pytest.fixture(params=["cached", "uncached"])
def store(request: pytest.FixtureRequest) -> Feeder:
    return Feeder(cached=request.param == "cached")


class TestEchoes:
    async def test_an_echo_is_an_outbound_message_from_the_app(self, store):
        await store.feed(text("w1", 0, "how much?"), echo("x1", 60, "12 euros"))
        message = store.repository.message(X1)
        assert (message.direction, message.from_app, message.wamid, message.preview) == (
            "outbound", True, "x1", "12 euros")
        assert (message.status, message.visible, message.actor_id) == ("sent", True, None)
        conv = store.repository.conversation(CID)
        assert conv.unread_count == 1  # the customer's message only
        assert conv.last_inbound_at == at(0)  # the echo neither opens nor extends the window
        assert conv.window_expires_at == at(24 * 3600)
        assert (conv.last_message_id, conv.last_message_direction) == (X1, "outbound")
        assert [m.id for m in store.repository.visible(CID)] == [message_id(CID, "w1"), X1]

    async def test_an_echo_alone_opens_no_window(self, store):
        await store.feed(echo("x1", 0, "Hi! Your order shipped"))
        conv = store.repository.conversation(CID)
        assert (conv.last_inbound_at, conv.window_expires_at, conv.unread_count) == (
            None, None, 0)
        assert conv.listed
        assert conv.customer_wa_id is not None

    async def test_an_echo_is_stored_once(self, store):
        await store.feed(echo("x1", 0, "hello"), status("x1", "delivered", 2))
        before = state(store)
        await store.feed(echo("x1", 0, "hello"), echo("x1", 0, "hello", history=True))
        assert state(store) == before

    async def test_statuses_attach_to_the_echo_in_any_order(self, store):
        await store.feed(status("x1", "delivered", 2))
        assert not store.repository.conversation(CID).listed
        await store.feed(echo("x1", 0, "hello"), status("x1", "read", 5))
        message = store.repository.message(X1)
        assert [s.status for s in message.statuses] == ["delivered", "read"]
        assert (message.status, message.stub, message.from_app) == ("read", False, True)
        assert [m.id for m in store.repository.visible(CID)] == [X1]

    async def test_a_reaction_made_in_the_app(self, store):
        app_reaction = MessageEchoed(
            occurred_at=at(6), tenant_id="acme", conversation_id=CID,
            payload=reaction("x9", "w1", "👍", 5).payload)
        await store.feed(text("w1", 0, "thanks"), app_reaction)
        message = store.repository.message(message_id(CID, "w1"))
        assert [(r.by, r.emoji) for r in message.reactions] == [("business", "👍")]
        assert store.repository.conversation(CID).last_inbound_at == at(0)

    async def test_an_agent_send_and_an_echo_are_two_messages(self, store):
        await store.feed(text("w1", 0, "hi"), accepted("c1", "out1", 5), echo("x1", 9, "also"))
        assert len(store.repository.visible(CID)) == 3


def story() -> list[Any]:
    return [text("w1", 0, "how much?"), echo("x1", 60, "12 euros"),
            status("x1", "delivered", 62), status("x1", "read", 70),
            text("w2", 80, "ok")]


class TestEchoesInAnyOrder:
    async def test_every_order_gives_the_same_thread(self):
        docs = await every_order(story())
        assert sorted(docs["messages"]) == sorted(
            [message_id(CID, "w1"), X1, message_id(CID, "w2")])
        conv = docs["conversations"][CID]
        assert (conv["unread_count"], conv["last_inbound_at"]) == (2, at(80))
        assert docs["messages"][X1]["status"] == "read"

    @pytest.mark.parametrize("duplicated", range(5))
    async def test_duplicates_change_nothing(self, store, duplicated):
        events = story()
        await store.feed(*events)
        before = state(store)
        await store.feed(events[duplicated], *reversed(events))
        assert state(store) == before


DAY = 24 * 3600


def history() -> list[Any]:
    """Three days of the app's history, then a live message."""
    return [text("h1", -3 * DAY, "old question", history=True),
            echo("h2", -3 * DAY + 60, "old answer", history=True),
            text("h3", -2 * DAY, "thanks!", history=True),
            text("w1", 0, "new question")]


class TestHistory:
    async def test_history_fills_the_thread_without_unread(self, store):
        await store.feed(*history()[:3])
        conv = store.repository.conversation(CID)
        assert conv.unread_count == 0
        assert conv.last_inbound_at == at(-2 * DAY)
        assert conv.window_expires_at == at(-DAY)  # closed: only what the timestamps allow
        assert conv.last_message_preview == "thanks!"
        assert [m.preview for m in store.repository.visible(CID)] == [
            "old question", "old answer", "thanks!"]
        assert store.repository.message(message_id(CID, "h1")).history

    async def test_history_after_live_messages_moves_nothing_back(self, store):
        await store.feed(history()[3], *history()[:3])
        conv = store.repository.conversation(CID)
        assert (conv.unread_count, conv.last_inbound_at) == (1, at(0))
        assert conv.last_message_preview == "new question"
        assert [m.wamid for m in store.repository.visible(CID)] == ["h1", "h2", "h3", "w1"]

    async def test_history_does_not_reopen_a_resolved_conversation(self, store):
        from tests.unit.conversation_store.builders import set_status
        await store.feed(text("w1", 0, "hi"), set_status("s1", 10, "resolved"))
        await store.feed(text("h1", -DAY, "older", history=True))
        assert store.repository.conversation(CID).status == "resolved"

    async def test_every_order(self):
        docs = await every_order(history())
        conv = docs["conversations"][CID]
        assert (conv["unread_count"], conv["last_inbound_at"]) == (1, at(0))
        assert len(docs["messages"]) == 4

    async def test_a_history_sync_sent_twice(self, store):
        await store.feed(*history())
        before = state(store)
        await store.feed(*history()[:3])
        assert state(store) == before
