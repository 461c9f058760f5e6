"""Calls (issue 15, calls.py): one thread line per call, whatever order its reports come in; a
customer's call opens the window."""

from __future__ import annotations

from typing import Any

import pytest

from services.conversation_store.calls import call_line, call_message_id, call_text, duration_text
from services.conversation_store.documents import CallEvent, message_id
from tests.unit.conversation_store.builders import CID, at
from tests.unit.conversation_store.coexistence import call, every_order, state, text
from tests.unit.conversation_store.fakes import Feeder

LINE = call_message_id(CID, "c1")


@pytest.fixture(params=["cached", "uncached"])
def store(request: pytest.FixtureRequest) -> Feeder:
    return Feeder(cached=request.param == "cached")


def report(event: str, t: float, *, direction: str | None = "USER_INITIATED",
           status: str | None = None, duration: int | None = None) -> CallEvent:
    return CallEvent(event=event, status=status, at=at(t), direction=direction,
                     duration_seconds=duration)


@pytest.mark.parametrize(("events", "outcome", "shown"), [
    ([report("connect", 0)], "ringing", "Incoming call"),
    ([report("connect", 0), report("terminate", 30, status="FAILED")], "missed", "Missed call"),
    ([report("terminate", 30, status="COMPLETED", duration=0)], "missed", "Missed call"),
    ([report("connect", 0), report("terminate", 192, status="COMPLETED", duration=192)],
     "answered", "Call answered · 3 min 12 s"),
    ([report("connect", 0, direction=None), report("status", 2, status="ACCEPTED")],
     "ongoing", "Call in progress"),
    ([report("connect", 0, direction="BUSINESS_INITIATED"),
      report("status", 1, direction=None, status="RINGING")],
     "ringing", "Outgoing call · ringing"),
    ([report("connect", 0, direction="BUSINESS_INITIATED"),
      report("status", 3, direction=None, status="REJECTED"),
      report("terminate", 4, direction=None, status="FAILED")],
     "declined", "Outgoing call · declined"),
    ([report("connect", 0, direction="BUSINESS_INITIATED"),
      report("terminate", 40, status="FAILED")],
     "unanswered", "Outgoing call · not answered"),
    ([report("terminate", 65, direction="BUSINESS_INITIATED", status="COMPLETED", duration=65)],
     "answered", "Outgoing call · 1 min 5 s"),
    ([report("status", 3, direction=None, status="REJECTED"),
      report("terminate", 4, direction=None)], "declined", "Declined call"),
])
def test_what_a_line_says(events: list[CallEvent], outcome: str, shown: str) -> None:
    line = call_line("c1", events)
    assert (line.outcome, call_text(line)) == (outcome, shown)


@pytest.mark.parametrize(("seconds", "shown"), [
    (None, ""), (0, ""), (45, "45 s"), (60, "1 min"), (192, "3 min 12 s"), (3600, "1 h"),
    (3720, "1 h 2 min")])
def test_durations(seconds: int | None, shown: str) -> None:
    assert duration_text(seconds) == shown


def answered_call() -> list[Any]:
    return [call("c1", 0, "connect"),
            call("c1", 200, "terminate", status="COMPLETED", duration=192, started=8, ended=200)]


class TestCalls:
    async def test_a_call_is_one_line_updated_as_it_goes(self, store):
        connect, terminate = answered_call()
        await store.feed(connect)
        line = store.repository.message(LINE)
        assert (line.direction, line.message_type, line.preview) == (
            "system", "call", "Incoming call")
        await store.feed(terminate)
        line = store.repository.message(LINE)
        assert line.preview == "Call answered · 3 min 12 s"
        assert line.call is not None
        assert (line.call.direction, line.call.outcome, line.call.duration_seconds) == (
            "inbound", "answered", 192)
        assert line.sent_at == at(0)
        assert [m.id for m in store.repository.visible(CID)] == [LINE]

    async def test_a_customer_call_opens_the_window(self, store):
        await store.feed(*answered_call())
        conv = store.repository.conversation(CID)
        assert conv.last_inbound_at == at(200)
        assert conv.window_expires_at == at(200 + 24 * 3600)
        assert conv.unread_count == 0
        assert (conv.last_message_id, conv.last_message_preview,
                conv.last_message_direction) == (LINE, "Call answered · 3 min 12 s", "inbound")
        assert conv.listed

    async def test_a_missed_call_opens_it_too(self, store):
        await store.feed(call("c1", 0, "connect"), call("c1", 30, "terminate", status="FAILED"))
        conv = store.repository.conversation(CID)
        assert conv.last_inbound_at == at(30)
        assert store.repository.message(LINE).preview == "Missed call"

    async def test_a_business_call_opens_nothing(self, store):
        await store.feed(call("c1", 0, "connect", direction="BUSINESS_INITIATED"),
                         call("c1", 70, "terminate", direction="BUSINESS_INITIATED",
                              status="COMPLETED", duration=65))
        conv = store.repository.conversation(CID)
        assert (conv.last_inbound_at, conv.window_expires_at) == (None, None)
        assert conv.last_message_direction == "outbound"
        assert store.repository.message(LINE).preview == "Outgoing call · 1 min 5 s"

    async def test_a_call_older_than_the_window_moves_nothing_back(self, store):
        await store.feed(text("w1", 1000, "hi"), *answered_call())
        conv = store.repository.conversation(CID)
        assert conv.last_inbound_at == at(1000)
        assert conv.last_message_id == message_id(CID, "w1")
        assert [m.id for m in store.repository.visible(CID)] == [LINE, message_id(CID, "w1")]

    async def test_two_calls_are_two_lines(self, store):
        await store.feed(*answered_call(), call("c2", 500, "connect"))
        assert len(store.repository.visible(CID)) == 2


class TestCallsInAnyOrder:
    async def test_every_order_with_a_message_during_the_call(self):
        events = [*answered_call(), call("c1", 8, "status", direction=None, status="ACCEPTED"),
                  text("w1", 100, "can you hear me?")]
        docs = await every_order(events)
        line = docs["messages"][LINE]
        assert line["preview"] == "Call answered · 3 min 12 s"
        conv = docs["conversations"][CID]
        assert (conv["last_message_id"], conv["last_inbound_at"]) == (LINE, at(200))
        assert conv["unread_count"] == 1

    async def test_every_order_of_a_missed_call(self):
        docs = await every_order([call("c1", 0, "connect"),
                                  call("c1", 30, "terminate", status="FAILED"),
                                  text("w1", 40, "call me back")])
        assert docs["messages"][LINE]["preview"] == "Missed call"
        assert docs["conversations"][CID]["last_message_id"] == message_id(CID, "w1")

    @pytest.mark.parametrize("duplicated", range(2))
    async def test_duplicates_change_nothing(self, store, duplicated):
        events = answered_call()
        await store.feed(*events)
        before = state(store)
        await store.feed(events[duplicated], *reversed(events))
        assert state(store) == before
