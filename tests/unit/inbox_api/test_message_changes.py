"""The API's view of edited and deleted messages, app echoes and call lines (issue 15): a deleted
message's content never leaves the server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.inbox_api.conversations.views import conversation_view, message_view

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def doc(**fields: Any) -> dict[str, Any]:
    return {"_id": "c/w1", "wamid": "w1", "direction": "inbound", "message_type": "text",
            "content": {"body": "hello there"}, "preview": "hello there", "sent_at": T,
            "status": "received", **fields}


def test_an_edited_message_shows_its_newest_text_and_the_earlier_ones() -> None:
    out = message_view(doc(edited=True, edited_at=T, edit_history=[
        {"wamid": "w1", "at": T, "message_type": "text", "content": {"body": "hello"},
         "preview": "hello"},
        {"wamid": "e1", "at": T, "message_type": "image", "content": {"caption": "x"},
         "preview": "x"}]))
    assert (out.text, out.edited, out.edited_at) == ("hello there", True, T)
    assert [(v.type, v.text) for v in out.edit_history] == [("text", "hello"), ("image", "x")]


def test_a_deleted_message_says_nothing_but_that() -> None:
    secret = {"content": {"body": "card 4111"}, "preview": "card 4111",
              "edit_history": [{"at": T, "message_type": "text", "content": {"body": "old"}}]}
    out = message_view(doc(deleted=True, deleted_at=T, content={}, preview="This message was "
                           "deleted", edit_history=[], revoked=secret, message_type="image",
                           referral={"headline": "ad"}))
    assert out.deleted
    assert (out.text, out.content, out.media, out.edit_history, out.referral) == (
        "", {}, None, [], None)
    dumped = out.model_dump_json()
    assert "4111" not in dumped
    assert "old" not in dumped


def test_a_message_sent_from_the_app() -> None:
    out = message_view(doc(direction="outbound", from_app=True, status="delivered"))
    assert (out.direction, out.from_app) == ("outbound", True)
    assert not message_view(doc()).from_app


def test_a_call_line() -> None:
    out = message_view(doc(_id="c/call:1", wamid=None, direction="system", message_type="call",
                           content={}, preview="Call answered · 3 min 12 s",
                           call={"call_id": "1", "direction": "inbound", "outcome": "answered",
                                 "started_at": T, "ended_at": T, "duration_seconds": 192,
                                 "events": []}))
    assert (out.type, out.direction, out.text) == ("call", "system",
                                                   "Call answered · 3 min 12 s")
    assert out.call is not None
    assert (out.call.direction, out.call.outcome, out.call.duration_seconds) == (
        "inbound", "answered", 192)


def test_the_saved_name_of_the_app_s_address_book() -> None:
    out = conversation_view({"_id": "1:34612345678", "customer_wa_id": "34612345678",
                             "app_contact_name": "Ana (bakery)", "contact_name": None}, T)
    assert (out.customer.name, out.customer.saved_name) == (None, "Ana (bakery)")
