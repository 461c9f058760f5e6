"""The app's history sync delivers a media message first as a placeholder, then (for media of the
last 14 days) again with its media: the later delivery fills the placeholder in, in any order and
any number of times, and never overwrites a message that has its content (placeholders.py). Also
changes that name an edit instead of its message (edits.py), and an older edit notice that names
no message at all."""

from __future__ import annotations

from typing import Any

import pytest

from services.conversation_store.documents import message_id
from services.conversation_store.edits import DELETED_PREVIEW
from shared.events import InboundMessage, MessageEchoed, MessageReceived, MetaError
from tests.unit.conversation_store.builders import CID, TENANT, at, reaction, status
from tests.unit.conversation_store.coexistence import (
    _payload,
    echo,
    edit,
    every_order,
    revoke,
    state,
    text,
)
from tests.unit.conversation_store.fakes import Feeder

H3 = message_id(CID, "h3")
IMAGE = {"mime_type": "image/jpeg", "sha256": "b1hN", "id": "1252281926133451"}
PLACEHOLDER_PREVIEW = "📎 Media (not synced)"


@pytest.fixture(params=["cached", "uncached"])
def store(request: pytest.FixtureRequest) -> Feeder:
    return Feeder(cached=request.param == "cached")


def history_message(wamid: str, t: float, message_type: str, content: dict[str, Any],
                    preview: str, *, business: bool = False) -> MessageReceived | MessageEchoed:
    """A message of the app's history sync, the customer's or (``business``) the app's."""
    payload: InboundMessage = _payload(wamid, t, message_type, content, preview, history=True)
    if business:
        return MessageEchoed(occurred_at=at(t), tenant_id=TENANT, conversation_id=CID,
                             payload=payload.model_copy(update={"customer": None}))
    return MessageReceived(occurred_at=at(t), tenant_id=TENANT, conversation_id=CID,
                           payload=payload)


def placeholder(wamid: str = "h3", t: float = 0, **kw: Any) -> MessageReceived | MessageEchoed:
    return history_message(wamid, t, "media_placeholder", {}, PLACEHOLDER_PREVIEW, **kw)


def media(wamid: str = "h3", t: float = 0, **kw: Any) -> MessageReceived | MessageEchoed:
    return history_message(wamid, t, "image", dict(IMAGE), "📷 Photo", **kw)


class TestThePlaceholderIsFilledIn:
    async def test_the_media_replaces_the_placeholder(self, store: Feeder) -> None:
        await store.feed(text("h1", -60, "Do you deliver on Sundays?", history=True),
                         placeholder())
        assert store.repository.message(H3).message_type == "media_placeholder"
        await store.feed(media())
        message = store.repository.message(H3)
        assert (message.message_type, message.content, message.preview) == (
            "image", IMAGE, "📷 Photo")
        assert (message.history, message.edited, message.stub) == (True, False, False)
        assert [m.id for m in store.repository.visible(CID)] == [message_id(CID, "h1"), H3]
        conv = store.repository.conversation(CID)
        assert conv.last_message_preview == "📷 Photo"  # the list follows
        assert conv.unread_count == 0  # history is never unread

    async def test_a_placeholder_after_its_media_changes_nothing(self, store: Feeder) -> None:
        await store.feed(media())
        before = state(store)
        await store.feed(placeholder())
        assert state(store) == before
        assert store.repository.message(H3).content == IMAGE

    async def test_media_without_its_id_is_filled_in_too(self, store: Feeder) -> None:
        await store.feed(history_message("h3", 0, "image", {"mime_type": "image/jpeg"},
                                         "📷 Photo"))
        await store.feed(media())
        assert store.repository.message(H3).content == IMAGE

    async def test_a_message_with_its_content_is_never_overwritten(self, store: Feeder) -> None:
        """A real message (live or history) keeps its content: another delivery of its wamid
        is a duplicate, whatever it says."""
        await store.feed(text("w1", 0, "hello"), media("w1"),
                         history_message("w2", 10, "image", dict(IMAGE), "📷 Photo"),
                         history_message("w2", 10, "image", {**IMAGE, "id": "other"},
                                         "📷 Photo"))
        assert store.repository.message(message_id(CID, "w1")).content == {"body": "hello"}
        assert store.repository.message(message_id(CID, "w2")).content == IMAGE

    async def test_the_media_twice_changes_nothing(self, store: Feeder) -> None:
        await store.feed(placeholder(), media())
        before = state(store)
        await store.feed(media(), placeholder())
        assert state(store) == before
        await store.replay(store.log)
        assert state(store) == before

    async def test_what_happened_meanwhile_stays(self, store: Feeder) -> None:
        """Statuses, reactions and an edit of the placeholder survive the filling in; an edit
        still shows over the original, which is now the media."""
        await store.feed(placeholder(business=True), status("h3", "read", 5),
                         reaction("r1", "h3", "👍", 6),
                         edit("e1", "h3", 7, "See the photo", echo=True))
        await store.feed(media(business=True))
        message = store.repository.message(H3)
        assert (message.direction, message.from_app, message.status) == (
            "outbound", True, "read")
        assert [(r.by, r.emoji) for r in message.reactions] == [("customer", "👍")]
        assert message.content == {"body": "See the photo"}  # the edit is still newest
        assert [(v.message_type, v.content) for v in message.edit_history] == [
            ("image", IMAGE)]

    async def test_a_deleted_placeholder_stays_deleted(self, store: Feeder) -> None:
        await store.feed(placeholder(), revoke("r1", "h3", 5), media())
        message = store.repository.message(H3)
        assert (message.deleted, message.content, message.preview) == (
            True, {}, DELETED_PREVIEW)
        assert message.revoked is not None
        assert message.revoked.content == IMAGE  # for audit only

    @pytest.mark.parametrize("business", [False, True])
    async def test_in_every_order(self, business: bool) -> None:
        docs = await every_order([placeholder(business=business), media(business=business),
                                  media(business=business)])
        message = docs["messages"][H3]
        assert (message["message_type"], message["content"]) == ("image", IMAGE)
        assert docs["conversations"][CID]["last_message_preview"] == "📷 Photo"


class TestAChangeNamingAnEdit:
    """WhatsApp may name an edit's wamid, not the original's, when it deletes an edited message
    (the corpus's ``echo_edit_and_revoke``): the change applies to the message the edit changed."""

    async def test_the_deletion_of_an_edit_deletes_the_message(self, store: Feeder) -> None:
        await store.feed(echo("x1", 0, "Here's the info you requested"),
                         edit("x2", "x1", 60, "Here's the info you asked for", echo=True))
        await store.feed(revoke("x3", "x2", 120, echo=True))
        message = store.repository.message(message_id(CID, "x1"))
        assert (message.deleted, message.content, message.preview) == (
            True, {}, DELETED_PREVIEW)
        assert list(store.repository.messages) == [message_id(CID, "x1")]
        assert store.repository.conversation(CID).last_message_preview == DELETED_PREVIEW
        # Uncached, the deletion's load fetched the message by the edit's record (handlers.py).

    async def test_in_every_order(self) -> None:
        docs = await every_order([echo("x1", 0, "price: 10"),
                                  edit("x2", "x1", 60, "price: 12", echo=True),
                                  revoke("x3", "x2", 120, echo=True)])
        assert list(docs["messages"]) == [message_id(CID, "x1")]
        message = docs["messages"][message_id(CID, "x1")]
        assert (message["deleted"], message["content"]) == (True, {})
        assert message["revoked"]["content"] == {"body": "price: 12"}

    async def test_an_edit_of_an_edit(self, store: Feeder) -> None:
        await store.feed(text("w1", 0, "see you at 5"), edit("e1", "w1", 10, "see you at 6"),
                         edit("e2", "e1", 20, "see you at 7"))
        message = store.repository.message(message_id(CID, "w1"))
        assert message.content == {"body": "see you at 7"}
        assert [v.preview for v in message.edit_history] == ["see you at 5", "see you at 6"]


class TestAnEditNamingNoMessage:
    async def test_an_unsupported_edit_without_target_is_shown_with_meta_s_reason(
            self, store: Feeder) -> None:
        """Older payloads: ``unsupported{type: edit}`` with no original id. Nothing says which
        message changed, so it is shown as Meta sent it: the agent learns the customer did
        something the inbox cannot show, and why."""
        error = MetaError(code=131051, title="Message type unknown",
                          details="Message type is currently not supported.")
        notice = MessageReceived(occurred_at=at(1), tenant_id=TENANT, conversation_id=CID,
                                 payload=_payload("u1", 0, "unsupported", {"type": "edit"},
                                                  "Unsupported message (edit)", errors=[error]))
        await store.feed(notice)
        [message] = store.repository.visible(CID)
        assert (message.message_type, message.preview) == (
            "unsupported", "Unsupported message (edit)")
        assert [e.code for e in message.errors] == [131051]
        assert store.repository.conversation(CID).listed
