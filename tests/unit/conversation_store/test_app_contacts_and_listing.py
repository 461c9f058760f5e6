"""The business app's saved names (app_contacts.py) and ghost conversations (listing.py, issue 15
item 9): what came before any message keeps a conversation out of the lists and the live feed."""

from __future__ import annotations

import pytest

from services.conversation_store.documents import Conversation, command_message_id, message_id
from tests.unit.conversation_store.builders import (
    CID,
    accepted,
    assign,
    at,
    reaction,
    received,
    status,
)
from tests.unit.conversation_store.coexistence import app_contact, every_order, state
from tests.unit.conversation_store.fakes import Feeder


@pytest.fixture(params=["cached", "uncached"])
def store(request: pytest.FixtureRequest) -> Feeder:
    return Feeder(cached=request.param == "cached")


class TestAppContacts:
    async def test_the_saved_name_is_kept_beside_the_profile_name(self, store):
        await store.feed(received("w1", 0, name="Ana"), app_contact(5, "add", "Ana Bakery"))
        conv = store.repository.conversation(CID)
        assert (conv.contact_name, conv.app_contact_name) == ("Ana", "Ana Bakery")
        assert {"ana", "ana bakery", "bakery"} <= set(conv.search_keys)

    async def test_remove_clears_it(self, store):
        await store.feed(app_contact(0, "add", "Ana"), app_contact(5, "remove"))
        conv = store.repository.conversation(CID)
        assert (conv.app_contact_name, conv.app_contact_name_at) == (None, at(5))
        assert conv.search_keys == [c for c in conv.search_keys if "ana" not in c]

    async def test_an_older_sync_never_wins(self, store):
        await store.feed(app_contact(10, "add", "New Name"), app_contact(5, "add", "Old"),
                         app_contact(1, "remove"))
        assert store.repository.conversation(CID).app_contact_name == "New Name"

    async def test_every_order(self):
        docs = await every_order([app_contact(0, "add", "Ana"), app_contact(10, "remove"),
                                  app_contact(20, "add", "Ana García"),
                                  app_contact(20, "remove")])
        assert docs["conversations"][CID]["app_contact_name"] == "Ana García"

    async def test_a_sync_alone_makes_no_listed_conversation(self, store):
        await store.feed(app_contact(0, "add", "Ana"))
        assert not store.repository.conversation(CID).listed
        assert store.publisher.published == []
        await store.feed(received("w1", 5, name=None))
        conv = store.repository.conversation(CID)
        assert (conv.listed, conv.app_contact_name, conv.contact_name) == (True, "Ana", None)


class TestGhostConversations:
    async def test_a_status_of_an_unknown_message_lists_nothing(self, store):
        await store.feed(status("out9", "delivered", 0), status("out9", "read", 3))
        conv = store.repository.conversation(CID)
        assert not conv.listed
        assert store.repository.message(message_id(CID, "out9")).stub
        assert store.publisher.published == []  # no live notice: nothing to show

    async def test_the_late_message_gets_its_statuses_and_lists_the_conversation(self, store):
        await store.feed(status("out1", "delivered", 2))
        await store.feed(accepted("c1", "out1", 1))
        conv = store.repository.conversation(CID)
        assert conv.listed
        message = store.repository.message(command_message_id(CID, "c1"))
        assert message.status == "delivered"
        assert store.publisher.published[-1].conversation_id == CID

    async def test_a_reaction_to_an_unknown_message_lists_nothing(self, store):
        await store.feed(reaction("r1", "gone", "👍", 0))
        assert not store.repository.conversation(CID).listed

    async def test_a_command_on_an_unknown_conversation_lists_nothing(self, store):
        await store.feed(assign("a1", 0, "agent-2"))
        assert not store.repository.conversation(CID).listed

    async def test_every_order_of_a_status_and_its_message(self):
        docs = await every_order([status("out1", "sent", 2), status("out1", "read", 5),
                                  accepted("c1", "out1", 1)])
        assert docs["conversations"][CID]["listed"]

    async def test_a_conversation_stored_before_the_field_stays_listed(self, store):
        await store.feed(received("w1", 0))
        doc = store.repository.conversations[CID]
        del doc["listed"]
        assert Conversation.model_validate(doc).listed
        await store.feed(status("x", "sent", 5))
        assert store.repository.conversation(CID).listed

    async def test_a_listed_conversation_stays_listed(self, store):
        await store.feed(received("w1", 0), status("out9", "delivered", 3))
        before = state(store)
        assert before["conversations"][CID]["listed"]
        assert len(store.publisher.published) == 2
