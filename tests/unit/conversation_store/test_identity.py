"""Customers named by BSUID, usernames and identity changes (issue 14): the conversation's
customer fields, the system lines, and order independence like every other fold rule."""

from __future__ import annotations

import itertools
from typing import Any, ClassVar

import pytest

from services.conversation_store.documents import message_id
from tests.unit.conversation_store.builders import (
    BSUID,
    CID,
    CUSTOMER,
    NUMBER_ID,
    UCID,
    identity_change,
    received,
    user_received,
    user_status,
)
from tests.unit.conversation_store.fakes import Feeder

NEW_BSUID = "US.88811122233344455566"
LATEST_BSUID = "US.77700011122233344455"
NUMBER = "34612345678"
NEW_NUMBER = "34699887766"
PARENT = "US.ENT.11815799212886844830"


@pytest.fixture(params=["cached", "uncached"])
def store(request: pytest.FixtureRequest) -> Feeder:
    return Feeder(cached=request.param == "cached")


def state(feeder: Feeder) -> dict[str, Any]:
    """The documents, without what records how they were written (not what they say): the
    version (one per write), the positions (offsets), and created_at (the first event to
    arrive, as before this change); the unread bookkeeping is compared as a set (it keeps
    arrival order; the count is what readers see)."""
    conversations = {}
    for cid, doc in feeder.repository.conversations.items():
        kept = {k: v for k, v in doc.items() if k not in ("version", "created_at")}
        kept["fold"] = {k: v for k, v in doc["fold"].items() if k != "positions"}
        kept["fold"]["unread"] = sorted(kept["fold"]["unread"], key=lambda u: u["wamid"])
        conversations[cid] = kept
    messages = {mid: {k: v for k, v in doc.items() if k != "version"}
                for mid, doc in feeder.repository.messages.items()}
    return {"conversations": conversations, "messages": messages}


class TestHiddenNumber:
    async def test_a_username_customer_gets_a_conversation_without_a_number(self, store):
        await store.feed(user_received("u1", 0, username="ana.garcia", parent=PARENT))
        conv = store.repository.conversation(UCID)
        assert conv.customer_wa_id is None
        assert conv.customer_wa_ids == []
        assert conv.customer_user_id == BSUID
        assert conv.customer_user_ids == [BSUID]
        assert conv.customer_parent_user_id == PARENT
        assert conv.customer_username == "ana.garcia"
        assert conv.unread_count == 1
        assert "ana.garcia" in conv.search_keys
        assert BSUID.lower() in conv.search_keys
        assert store.repository.message(message_id(UCID, "u1")).from_user_id == BSUID
        # The change notice's summary has no number to give.
        assert store.publisher.published[-1].summary.customer_wa_id == ""

    async def test_the_number_fills_in_when_a_later_message_brings_it(self, store):
        await store.feed(user_received("u1", 0, username="ana.garcia"))
        await store.feed(user_received("u2", 10, wa_id=f"+{NUMBER}", name="Ana"))
        conv = store.repository.conversation(UCID)
        assert conv.customer_wa_id == NUMBER
        assert conv.customer_wa_ids == [NUMBER]
        assert conv.contact_name == "Ana"
        assert conv.customer_username == "ana.garcia"  # kept: the later message had none
        assert NUMBER in conv.search_keys

    async def test_a_status_brings_the_number_and_the_username(self, store):
        await store.feed(user_received("u1", 0))
        await store.feed(user_status("out1", "delivered", 5, wa_id=NUMBER, username="ana.g"))
        conv = store.repository.conversation(UCID)
        assert (conv.customer_wa_id, conv.customer_username) == (NUMBER, "ana.g")
        assert conv.unread_count == 1

    async def test_an_older_username_never_replaces_a_newer_one(self, store):
        await store.feed(user_received("u2", 10, username="new.name"))
        await store.feed(user_received("u1", 0, username="old.name"))
        assert store.repository.conversation(UCID).customer_username == "new.name"

    async def test_a_message_stored_by_the_old_version_keeps_working(self, store):
        await store.feed(received("w1", 0))  # a number-keyed conversation, no BSUID at all
        conv = store.repository.conversation(CID)
        assert (conv.customer_wa_id, conv.customer_user_id, conv.customer_user_ids) == (
            CUSTOMER, None, [])
        assert store.repository.message(message_id(CID, "w1")).from_user_id is None


class TestIdentityChanges:
    async def test_a_number_change_adds_a_line_and_updates_the_number(self, store):
        await store.feed(user_received("u1", 0, wa_id=NUMBER, name="Ana"))
        await store.feed(identity_change("s1", 10, "number", old_wa_id=NUMBER,
                                         new_wa_id=NEW_NUMBER, new_user_id=NEW_BSUID))
        conv = store.repository.conversation(UCID)
        assert conv.customer_wa_id == NEW_NUMBER
        assert conv.customer_wa_ids == [NUMBER, NEW_NUMBER]
        assert conv.customer_user_id == NEW_BSUID
        assert conv.customer_user_ids == [BSUID, NEW_BSUID]
        assert conv.unread_count == 1  # the system line is not a customer message
        assert conv.last_message_id == message_id(UCID, "u1")
        line = store.repository.message(message_id(UCID, "s1"))
        assert (line.direction, line.message_type, line.visible) == ("system", "system", True)
        assert line.preview == f"changed their phone number to +{NEW_NUMBER}"
        assert line.content["identity_change"] == {
            "kind": "number", "new_wa_id": NEW_NUMBER, "new_user_id": NEW_BSUID}
        assert [m.id for m in store.repository.visible(UCID)] == [
            message_id(UCID, "u1"), message_id(UCID, "s1")]

    async def test_a_bsuid_change_adds_a_line_and_updates_the_bsuid(self, store):
        await store.feed(user_received("u1", 0, username="ana.garcia"))
        await store.feed(identity_change("s1", 10, "user_id", new_user_id=NEW_BSUID))
        conv = store.repository.conversation(UCID)
        assert conv.customer_user_id == NEW_BSUID
        assert conv.customer_wa_id is None
        assert conv.customer_username == "ana.garcia"
        assert store.repository.message(message_id(UCID, "s1")).preview == (
            "changed their WhatsApp account")

    async def test_a_number_keyed_conversation_follows_the_new_number(self, store):
        await store.feed(received("w1", 0))
        await store.feed(identity_change("s1", 10, "number", cid=CID, old_wa_id=CUSTOMER,
                                         old_user_id=None, new_wa_id=NEW_NUMBER))
        # A late, older message from the old number does not move it back.
        await store.feed(received("w0", -5))
        conv = store.repository.conversation(CID)
        assert conv.customer_wa_id == NEW_NUMBER
        assert conv.customer_wa_ids == [CUSTOMER, NEW_NUMBER]
        assert conv.unread_count == 2

    async def test_a_later_message_from_the_old_bsuid_does_not_undo_the_change(self, store):
        await store.feed(identity_change("s1", 10, "user_id", new_user_id=NEW_BSUID))
        await store.feed(user_received("u1", 0))
        assert store.repository.conversation(UCID).customer_user_id == NEW_BSUID

    async def test_a_change_and_a_message_of_the_same_second_the_change_wins(self, store):
        await store.feed(identity_change("s1", 10, "user_id", new_user_id=NEW_BSUID))
        await store.feed(user_received("u1", 10, user_id="US.99999999999999999999"))
        assert store.repository.conversation(UCID).customer_user_id == NEW_BSUID

    async def test_a_duplicate_line_changes_nothing(self, store):
        change = identity_change("s1", 10, "user_id", new_user_id=NEW_BSUID)
        await store.feed(user_received("u1", 0), change)
        before = state(store)
        notices = len(store.publisher.published)
        await store.feed(change)
        assert state(store) == before
        assert len(store.publisher.published) == notices

    async def test_a_redelivered_batch_changes_nothing(self, store):
        await store.feed(user_received("u1", 0),
                         identity_change("s1", 10, "number", new_wa_id=NEW_NUMBER))
        before = store.repository.conversations[UCID]
        await store.replay(store.log)
        assert store.repository.conversations[UCID] == before


def story() -> list[Any]:
    """A username customer over time: hidden number, the number shared, a status naming a new
    username, a number change (new BSUID), messages from the new identifiers, a BSUID change."""
    return [
        user_received("u1", 0, username="ana.garcia", parent=PARENT),
        user_status("out1", "delivered", 5, username="ana.g"),
        user_received("u2", 10, wa_id=NUMBER, name="Ana"),
        identity_change("s1", 20, "number", old_wa_id=NUMBER, new_wa_id=NEW_NUMBER,
                        new_user_id=NEW_BSUID),
        user_received("u3", 30, wa_id=NEW_NUMBER, user_id=NEW_BSUID, username="ana.garcia"),
        identity_change("s2", 40, "user_id", old_user_id=NEW_BSUID, new_user_id=LATEST_BSUID),
    ]


class TestOrderIndependence:
    """The same events in any order, any batching, with duplicates: the same documents."""

    async def test_every_order_gives_the_same_documents(self):
        events = story()
        reference = Feeder()
        await reference.feed(*events)
        expected = state(reference)
        conv = reference.repository.conversation(UCID)
        assert conv.customer_wa_id == NEW_NUMBER
        assert conv.customer_user_id == LATEST_BSUID
        assert conv.customer_user_ids == [BSUID, NEW_BSUID, LATEST_BSUID]
        assert conv.customer_parent_user_id == PARENT
        assert conv.customer_username == "ana.garcia"
        assert conv.unread_count == 3
        assert conv.last_message_id == message_id(UCID, "u3")
        for n, order in enumerate(itertools.permutations(events)):
            feeder = Feeder(cached=n % 2 == 0)
            await feeder.feed(*order, batch=1 + n % 3)
            got = state(feeder)
            # the lists keep the order identifiers were first seen in: compare them as sets
            for doc in (got, expected):
                c = doc["conversations"][UCID]
                c["customer_wa_ids"] = sorted(c["customer_wa_ids"])
                c["customer_user_ids"] = sorted(c["customer_user_ids"])
                c["search_keys"] = sorted(c["search_keys"])
            assert got == expected, order

    @pytest.mark.parametrize("duplicated", range(6))
    async def test_duplicates_change_nothing(self, store, duplicated):
        events = story()
        await store.feed(*events)
        before = state(store)
        await store.feed(events[duplicated], *reversed(events))
        assert state(store) == before
        assert store.repository.conversation(UCID).unread_count == 3


class TestDocumentsOfTheOldVersion:
    """Conversations written before BSUIDs: no customer_user_* fields, no fold.identity."""

    OLD: ClassVar[dict[str, Any]] = {
        "_id": CID, "tenant_id": "acme", "business_phone_number_id": NUMBER_ID,
        "customer_wa_id": CUSTOMER, "customer_wa_ids": [CUSTOMER], "contact_name": "Ana",
        "search_keys": ["ana", CUSTOMER], "unread_count": 1, "status": "open",
        "created_at": None, "updated_at": None, "version": 3,
        "fold": {"positions": {"out:0": 7}, "unread": [], "commands": []},
    }

    async def test_an_old_document_folds_new_events(self, store):
        from tests.unit.conversation_store.builders import at
        store.repository.conversations[CID] = {**self.OLD, "created_at": at(-100),
                                               "updated_at": at(-100)}
        await store.feed(user_received("w9", 0, cid=CID, wa_id=CUSTOMER, username="ana.g"))
        conv = store.repository.conversation(CID)
        assert conv.customer_wa_id == CUSTOMER
        assert conv.customer_user_id == BSUID
        assert conv.customer_user_ids == [BSUID]
        assert conv.customer_username == "ana.g"
        assert conv.unread_count == 2
        assert conv.version == 4
        assert {"ana", CUSTOMER, "ana.g", BSUID.lower()} <= set(conv.search_keys)

    async def test_an_old_document_untouched_reads_as_before(self):
        from services.conversation_store.documents import Conversation
        from tests.unit.conversation_store.builders import at
        conv = Conversation.model_validate({**self.OLD, "created_at": at(0), "updated_at": at(0)})
        assert (conv.customer_wa_id, conv.customer_user_id, conv.customer_username) == (
            CUSTOMER, None, None)
        assert conv.customer_user_ids == []
        assert conv.fold.identity == {}
