"""Edits and deletions applied to the message they change (issue 15, edits.py): in any order with
the original, with duplicates, for the customer's messages and the business app's."""

from __future__ import annotations

from typing import Any

import pytest

from services.conversation_store.documents import message_id
from services.conversation_store.edits import DELETED_PREVIEW, change_of
from shared.events import InboundMessage, ReplyContext
from tests.unit.conversation_store.builders import CID, CUSTOMER, NUMBER_ID, at, received
from tests.unit.conversation_store.coexistence import (
    echo,
    edit,
    every_order,
    revoke,
    state,
    text,
)
from tests.unit.conversation_store.fakes import Feeder

W1 = message_id(CID, "w1")


@pytest.fixture(params=["cached", "uncached"])
def store(request: pytest.FixtureRequest) -> Feeder:
    return Feeder(cached=request.param == "cached")


def payload(message_type: str, content: dict[str, Any], **extra: Any) -> InboundMessage:
    return InboundMessage(wamid="e1", message_type=message_type, sent_at=at(5),
                          business_phone_number_id=NUMBER_ID, from_wa_id=CUSTOMER,
                          content=content, **extra)


class TestWhatAnEditSays:
    def test_the_shape_webhook_ingest_emits(self):
        change = change_of(payload("edit", {"body": "new"}, original_wamid="w1",
                                   edited_type="text", preview="new"))
        assert change is not None
        assert (change.kind, change.target) == ("edit", "w1")
        assert change.version is not None
        assert (change.version.message_type, change.version.content,
                change.version.preview) == ("text", {"body": "new"}, "new")

    def test_meta_s_raw_shape(self):
        change = change_of(payload("edit", {"original_message_id": "w1", "message": {
            "type": "image", "image": {"id": "m1", "caption": "look"}}}, preview="[edit]"))
        assert change is not None
        assert change.target == "w1"
        assert change.version is not None
        assert (change.version.message_type, change.version.content,
                change.version.preview) == ("image", {"id": "m1", "caption": "look"}, "look")

    def test_a_revoke(self):
        change = change_of(payload("revoke", {"original_message_id": "w1"},
                                   original_wamid="w1"))
        assert change is not None
        assert (change.kind, change.target, change.version) == ("revoke", "w1", None)

    def test_the_older_unsupported_shape(self):
        change = change_of(payload("unsupported", {"type": "edit"},
                                   context=ReplyContext(message_id="w1")))
        assert change is not None
        assert (change.kind, change.target, change.version) == ("edit", "w1", None)
        change = change_of(payload("unsupported", {"type": "revoke"}))
        assert change is not None
        assert (change.kind, change.target) == ("revoke", None)

    def test_an_ordinary_message_is_no_change(self):
        assert change_of(payload("text", {"body": "hi"})) is None
        assert change_of(payload("unsupported", {"type": "poll_update"})) is None


class TestEdits:
    async def test_an_edit_replaces_the_content_and_keeps_the_original(self, store):
        await store.feed(text("w1", 0, "hello"), edit("e1", "w1", 10, "hello there"))
        message = store.repository.message(W1)
        assert (message.content, message.preview, message.edited) == (
            {"body": "hello there"}, "hello there", True)
        assert message.edited_at == at(10)
        assert [(v.wamid, v.content) for v in message.edit_history] == [
            ("w1", {"body": "hello"})]
        assert [m.id for m in store.repository.visible(CID)] == [W1]  # no bubble of its own
        conv = store.repository.conversation(CID)
        assert conv.unread_count == 1
        assert conv.last_message_preview == "hello there"
        assert store.publisher.published[-1].message_ids == [W1]

    async def test_an_edit_of_an_older_message_leaves_the_list_preview(self, store):
        await store.feed(text("w1", 0, "hello"), text("w2", 5, "second"),
                         edit("e1", "w1", 10, "hello there"))
        assert store.repository.conversation(CID).last_message_preview == "second"

    async def test_two_edits_show_the_newest_whatever_the_order(self, store):
        await store.feed(edit("e2", "w1", 20, "third"), text("w1", 0, "first"),
                         edit("e1", "w1", 10, "second"))
        message = store.repository.message(W1)
        assert message.content == {"body": "third"}
        assert [v.preview for v in message.edit_history] == ["first", "second"]

    async def test_an_edit_before_its_message_waits_in_a_stub(self, store):
        await store.feed(edit("e1", "w1", 10, "hello there"))
        stub = store.repository.message(W1)
        assert (stub.stub, stub.visible) == (True, False)
        assert not store.repository.conversation(CID).listed
        assert store.publisher.published == []
        await store.feed(text("w1", 0, "hello"))
        message = store.repository.message(W1)
        assert (message.stub, message.content) == (False, {"body": "hello there"})
        assert store.repository.conversation(CID).listed

    async def test_a_duplicate_edit_changes_nothing(self, store):
        await store.feed(text("w1", 0, "hello"), edit("e1", "w1", 10, "hi"))
        before = state(store)
        await store.feed(edit("e1", "w1", 10, "hi"))
        assert state(store) == before

    async def test_an_edit_is_customer_activity_but_never_unread(self, store):
        await store.feed(text("w1", 0, "hello"), edit("e1", "w1", 600, "hi"))
        conv = store.repository.conversation(CID)
        assert conv.last_inbound_at == at(600)
        assert conv.unread_count == 1


class TestDeletions:
    async def test_a_revoke_hides_the_content_and_keeps_it_for_audit(self, store):
        await store.feed(text("w1", 0, "my card is 4111"), revoke("r1", "w1", 10))
        message = store.repository.message(W1)
        assert (message.deleted, message.deleted_at) == (True, at(10))
        assert (message.content, message.preview, message.edit_history) == (
            {}, DELETED_PREVIEW, [])
        assert message.revoked is not None
        assert message.revoked.content == {"body": "my card is 4111"}
        assert "4111" not in str({k: v for k, v in store.repository.messages[W1].items()
                                  if k != "revoked"})
        assert store.repository.conversation(CID).last_message_preview == DELETED_PREVIEW
        assert [m.id for m in store.repository.visible(CID)] == [W1]

    async def test_an_edit_after_the_revoke_stays_hidden(self, store):
        await store.feed(text("w1", 0, "hello"), revoke("r1", "w1", 30),
                         edit("e1", "w1", 10, "secret"))
        message = store.repository.message(W1)
        assert (message.content, message.preview) == ({}, DELETED_PREVIEW)
        assert message.revoked is not None
        assert message.revoked.content == {"body": "secret"}
        assert [v.preview for v in message.revoked.edit_history] == ["hello"]

    async def test_a_revoke_before_its_message(self, store):
        await store.feed(revoke("r1", "w1", 10))
        assert not store.repository.conversation(CID).listed
        await store.feed(text("w1", 0, "oops"))
        message = store.repository.message(W1)
        assert (message.deleted, message.preview) == (True, DELETED_PREVIEW)
        assert message.revoked is not None
        assert message.revoked.content == {"body": "oops"}

    async def test_the_revoke_of_a_message_sent_from_the_app(self, store):
        await store.feed(echo("x1", 0, "wrong price"), revoke("r1", "x1", 5, echo=True))
        message = store.repository.message(message_id(CID, "x1"))
        assert (message.direction, message.from_app, message.deleted) == (
            "outbound", True, True)
        assert store.repository.conversation(CID).last_inbound_at is None


def customer_story() -> list[Any]:
    return [text("w1", 0, "hello"), edit("e1", "w1", 10, "hello!"),
            edit("e2", "w1", 20, "hello!!"), revoke("r1", "w1", 30)]


class TestAnyOrder:
    async def test_edits_in_every_order(self):
        docs = await every_order(customer_story()[:3])
        message = docs["messages"][W1]
        assert message["content"] == {"body": "hello!!"}
        assert [v["preview"] for v in message["edit_history"]] == ["hello", "hello!"]
        assert list(docs["messages"]) == [W1]
        conv = docs["conversations"][CID]
        assert (conv["unread_count"], conv["last_message_preview"]) == (1, "hello!!")

    async def test_edits_and_a_revoke_in_every_order(self):
        docs = await every_order(customer_story())
        message = docs["messages"][W1]
        assert (message["deleted"], message["preview"], message["content"]) == (
            True, DELETED_PREVIEW, {})
        assert message["revoked"]["content"] == {"body": "hello!!"}
        assert [v["preview"] for v in message["revoked"]["edit_history"]] == [
            "hello", "hello!"]
        conv = docs["conversations"][CID]
        assert (conv["unread_count"], conv["last_message_preview"], conv["listed"]) == (
            1, DELETED_PREVIEW, True)

    async def test_the_app_s_edits_in_every_order(self):
        docs = await every_order([echo("x1", 0, "price: 10"),
                                  edit("x2", "x1", 10, "price: 12", echo=True),
                                  edit("x3", "x1", 20, "price: 15", echo=True)])
        message = docs["messages"][message_id(CID, "x1")]
        assert (message["content"], message["from_app"]) == ({"body": "price: 15"}, True)
        assert docs["conversations"][CID]["last_inbound_at"] is None

    @pytest.mark.parametrize("duplicated", range(4))
    async def test_duplicates_change_nothing(self, store, duplicated):
        events = customer_story()
        await store.feed(*events)
        before = state(store)
        await store.feed(events[duplicated], *reversed(events))
        assert state(store) == before

    async def test_a_redelivered_batch_changes_nothing(self, store):
        await store.feed(*customer_story())
        before = state(store)
        await store.replay(store.log)
        assert state(store) == before


class TestOlderPayloads:
    async def test_an_unsupported_edit_notice_is_no_bubble(self, store):
        await store.feed(received("w1", 0),
                         received("w2", 5, message_type="unsupported", content={"type": "edit"},
                                  context=ReplyContext(message_id="w1")))
        assert [m.id for m in store.repository.visible(CID)] == [W1]
        assert store.repository.message(W1).edited
