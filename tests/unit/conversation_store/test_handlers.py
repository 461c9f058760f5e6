"""The shell: decoding the three topics, grouping, poison records, notices."""

from __future__ import annotations

from typing import get_args

import pytest

from services.conversation_store.handlers import StoreHandler
from services.conversation_store.pipeline import STORE_EVENTS
from shared.consumer import PoisonRecord, Received
from shared.events import InboundEvent, InboxCommand, MessageReceived, OutboundEvent, SendText
from tests.unit.conversation_store.builders import CID, NUMBER_ID, TENANT, accepted, at, received
from tests.unit.conversation_store.fakes import Feeder


def test_one_decoder_knows_every_type_of_the_three_topics():
    for union in (InboundEvent, OutboundEvent, InboxCommand):
        for member in get_args(get_args(union)[0]):
            literal = member.model_fields["type"].default
            assert literal in STORE_EVENTS.json_schema()["discriminator"]["mapping"]


def test_decodes_an_outbound_event_by_its_type():
    event = accepted("c1", "w1", 0)
    assert STORE_EVENTS.validate_json(event.to_bytes()) == event


def test_an_unaddressable_customer_number_is_a_poison_record():
    event = received("w1", 0, from_wa_id="12").model_copy(update={"conversation_id": None})
    with pytest.raises(PoisonRecord):
        StoreHandler.conversation_of(Received(event, "in", 0, 0, None, b""))


async def test_sends_are_left_to_the_sender():
    store = Feeder()
    send = SendText(occurred_at=at(0), tenant_id=TENANT, conversation_id=CID, command_id="c1",
                    business_phone_number_id=NUMBER_ID, customer_wa_id="5511987654321",
                    text="hi")
    await store.feed(send)
    assert store.repository.conversations == {}
    assert store.publisher.published == []


async def test_one_notice_per_changed_conversation_with_touched_messages():
    store = Feeder()
    await store.feed(received("w1", 0), received("w2", 1), batch=2)
    [notice] = store.publisher.published
    assert notice.conversation_id == CID
    assert notice.summary.unread_count == 2
    assert notice.message_ids == [f"{CID}/w1", f"{CID}/w2"]
    assert notice.summary.version == 1


def _in(event: MessageReceived, i: int) -> MessageReceived:
    """The event moved to conversation ``i`` (another customer of the same number)."""
    return event.model_copy(update={"conversation_id": f"{CID}{i}"})


async def test_a_batch_in_several_groups_writes_each_conversation_once():
    store = Feeder()
    store.handler.group_events = 2  # two events per group: one conversation each here
    events = [_in(e, i) for i in range(3) for e in (received("w1", 0), received("w2", 1))]

    await store.feed(*events, batch=len(events))

    assert store.repository.saves == 3
    assert sorted(store.repository.conversations) == [f"{CID}{i}" for i in range(3)]
    assert all(store.repository.conversation(f"{CID}{i}").version == 1 for i in range(3))
    assert sorted(n.conversation_id for n in store.publisher.published) == [
        f"{CID}{i}" for i in range(3)]


async def test_a_group_that_conflicts_is_refolded_while_the_others_stand():
    store = Feeder()
    store.handler.group_events = 1
    await store.feed(_in(received("w1", 0), 0))
    store.repository.conflict_once = True

    await store.feed(_in(received("w2", 1), 0), _in(received("w1", 0), 1), batch=2)

    assert store.repository.conversation(f"{CID}0").unread_count == 2
    assert store.repository.conversation(f"{CID}0").version == 2
    assert store.repository.conversation(f"{CID}1").version == 1
    assert len(store.publisher.published) == 3


async def test_a_failed_group_fails_the_batch_and_the_replay_completes_it():
    store = Feeder()
    store.handler.group_events = 1
    store.repository.fail_messages_once = True
    events = [_in(received("w1", 0), i) for i in range(3)]

    with pytest.raises(ConnectionError):
        await store.feed(*events, batch=3)
    await store.replay(store.log)

    for i in range(3):
        assert store.repository.conversation(f"{CID}{i}").unread_count == 1
        assert f"{CID}{i}/w1" in store.repository.messages
