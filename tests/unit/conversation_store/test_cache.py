"""The thread cache: answers what a database load would, reads only what it cannot answer."""

from __future__ import annotations

from typing import Any

import pytest

from services.conversation_store.adapters.kafka import KafkaAssignment, RebalanceListener
from services.conversation_store.documents import (
    Conversation,
    Message,
    command_message_id,
    message_id,
)
from services.conversation_store.ownership import OwnershipGuard
from services.conversation_store.ports import Wanted
from shared.events import ReplyContext
from tests.unit.conversation_store.builders import (
    CID,
    accepted,
    mark_read,
    reaction,
    received,
    status,
)
from tests.unit.conversation_store.fakes import Feeder


def asked(store: Feeder) -> list[Wanted | None]:
    """What each database load asked about CID (None: the load did not include it)."""
    return [load.get(CID) for load in store.repository.loads]


async def test_a_new_conversation_is_read_once_then_answered_from_memory():
    store = Feeder()
    await store.feed(received("w1", 0))
    await store.feed(accepted("c1", "out1", 5), status("out1", "sent", 6), batch=2)
    await store.feed(received("w2", 10), status("out1", "read", 11), batch=2)

    assert len(store.repository.loads) == 1  # the first batch found no conversation document
    assert store.repository.message(command_message_id(CID, "c1")).status == "read"
    assert store.repository.conversation(CID).version == 3


async def test_a_conversation_found_in_the_database_is_asked_only_what_memory_lacks():
    writer = Feeder()
    await writer.feed(received("w1", 0), accepted("c1", "out1", 5), batch=2)
    store = Feeder()
    store.repository = writer.repository  # a new process on the same database
    store.cache.inner = writer.repository
    store.offsets = dict(writer.offsets)
    writer.repository.loads.clear()

    await store.feed(status("out1", "sent", 6))
    await store.feed(status("out1", "delivered", 7))
    await store.feed(received("w2", 8))
    await store.feed(received("w3", 9))

    assert asked(store) == [
        Wanted(ids=set(), wamids={"out1"}),
        Wanted(ids={message_id(CID, "w2")}, wamids=set()),
        Wanted(ids={message_id(CID, "w3")}, wamids=set()),
    ]
    message = store.repository.message(command_message_id(CID, "c1"))
    assert [s.status for s in message.statuses] == ["accepted", "sent", "delivered"]
    assert store.repository.conversation(CID).unread_count == 3


async def test_memory_equals_what_the_database_gives_back():
    store = Feeder()
    await store.feed(
        received("w1", 0, name="Ana Maria"),
        status("out1", "sent", 2),  # before its message: a stub
        accepted("c1", "out1", 1),
        reaction("w2", "w1", "👍", 3),
        received("w3", 4, message_type="unsupported", content={"type": "edit"},
                 context=ReplyContext(message_id="w1")),
        batch=2,
    )
    await store.feed(mark_read("m1", 5), status("out1", "read", 6), batch=2)

    [cached] = store.cache.threads.values()
    assert cached.conversation == Conversation.model_validate(store.repository.conversations[CID])
    assert cached.messages == {
        mid: Message.model_validate(doc) for mid, doc in store.repository.messages.items()
    }
    assert message_id(CID, "out1") not in cached.messages  # the absorbed stub is gone


async def test_a_write_conflict_drops_the_conversation_and_the_retry_reads_the_database():
    store = Feeder()
    await store.feed(received("w1", 0))
    store.repository.conflict_once = True

    await store.feed(received("w2", 1))

    assert len(store.repository.loads) == 2  # the retry after the conflict
    assert store.repository.conversation(CID).unread_count == 2


async def test_a_failed_write_drops_the_conversation_and_the_replay_reads_the_database():
    store = Feeder()
    await store.feed(received("w1", 0))
    store.repository.fail_messages_once = True
    with pytest.raises(ConnectionError):
        await store.feed(received("w2", 1))
    assert store.cache.threads == {}

    await store.replay(store.log[-1:])

    assert len(store.repository.loads) == 2
    assert store.repository.conversation(CID).unread_count == 2
    assert message_id(CID, "w2") in store.repository.messages


async def test_a_rebalance_forgets_everything():
    store = Feeder()
    await store.feed(received("w1", 0))
    listener = RebalanceListener(
        OwnershipGuard(KafkaAssignment(_NoConsumer()), on_rebalance=store.cache.forget))

    await listener.on_partitions_revoked(set())
    await store.feed(received("w2", 1))

    assert len(store.repository.loads) == 2
    assert store.repository.conversation(CID).unread_count == 2


async def test_the_least_recently_used_threads_go_beyond_the_message_budget():
    store = Feeder()
    store.cache.max_messages = 2
    other = received("x1", 0).model_copy(update={"conversation_id": CID + "0"})
    await store.feed(received("w1", 0), received("w2", 1), batch=2)
    await store.feed(other)

    assert list(store.cache.threads) == [CID + "0"]
    assert store.cache.size == 1
    await store.feed(received("w3", 2))  # read again, and still right
    assert store.repository.conversation(CID).unread_count == 3
    assert list(store.cache.threads) == [CID + "0", CID]
    assert not store.cache.threads[CID].complete  # it has messages this process never read


class _NoConsumer:
    def assignment(self) -> set[Any]:
        return set()
