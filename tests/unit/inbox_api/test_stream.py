"""The stream hub: tenant filtering, resume from an event id, resync when too old."""

from __future__ import annotations

import asyncio

import pytest

from services.inbox_api.conversations.ports import Document
from services.inbox_api.conversations.service import InboxQueries
from services.inbox_api.conversations.stream import (
    BadPosition,
    Change,
    Closed,
    ReadOnce,
    Resync,
    StreamHub,
    Subscription,
    decode_position,
    encode_position,
    event_stream,
)
from shared.events import ConversationChanged, ConversationSummary
from tests.unit.inbox_api.fakes import NOW, FakeRepository, conversation


def changed(tenant: str, conversation: str = "1:2", version: int = 1) -> ConversationChanged:
    return ConversationChanged(
        occurred_at=NOW, tenant_id=tenant, conversation_id=conversation,
        summary=ConversationSummary(conversation_id=conversation, business_phone_number_id="1",
                                    customer_wa_id="2", version=version))


def drain(queue: asyncio.Queue[object]) -> list[object]:
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items


class TestPositions:
    def test_round_trip(self) -> None:
        assert decode_position(encode_position({1: 5, 0: 7})) == {0: 7, 1: 5}

    @pytest.mark.parametrize("value", ["", "v2.0:1", "v1.0:x", "v1.0:-1", "v1.01"])
    def test_foreign_ids_are_rejected(self, value: str) -> None:
        with pytest.raises(BadPosition):
            decode_position(value)


class TestHub:
    def test_changes_go_only_to_their_tenant(self) -> None:
        hub = StreamHub()
        hub.start_at({0: 0, 1: 0})
        acme, globex = hub.subscribe("acme", None), hub.subscribe("globex", None)
        hub.add(changed("acme"), 0, 0)
        hub.add(changed("globex"), 1, 0)
        [mine] = drain(acme.queue)  # type: ignore[arg-type]
        assert isinstance(mine, Change)
        assert mine.tenant_id == "acme"
        [theirs] = drain(globex.queue)  # type: ignore[arg-type]
        assert isinstance(theirs, Change)
        assert theirs.tenant_id == "globex"

    def test_resume_replays_only_what_came_after_the_id(self) -> None:
        hub = StreamHub()
        hub.start_at({0: 10, 1: 20})
        hub.add(changed("acme", version=1), 0, 10)
        seen = hub.position_id
        hub.add(changed("acme", version=2), 1, 20)
        hub.add(changed("globex", version=3), 0, 11)
        hub.add(changed("acme", version=4), 0, 12)
        replayed = hub.replay("acme", seen)
        assert [c.event.summary.version for c in replayed] == [2, 4]  # type: ignore[union-attr]

    def test_an_id_older_than_the_buffer_asks_for_resync(self) -> None:
        hub = StreamHub(buffer_size=2)
        hub.start_at({0: 0})
        hub.add(changed("acme"), 0, 0)
        old = hub.position_id
        for offset in range(1, 4):
            hub.add(changed("acme"), 0, offset)
        [item] = hub.replay("acme", old)
        assert isinstance(item, Resync)

    def test_an_id_from_before_this_replica_started_asks_for_resync(self) -> None:
        hub = StreamHub()
        hub.start_at({0: 50})
        [item] = hub.replay("acme", encode_position({0: 10}))
        assert isinstance(item, Resync)

    def test_a_client_too_far_behind_is_told_to_resync(self) -> None:
        hub = StreamHub(client_queue=2)
        hub.start_at({0: 0})
        slow = hub.subscribe("acme", None)
        for offset in range(5):
            hub.add(changed("acme"), 0, offset)
        items = drain(slow.queue)  # type: ignore[arg-type]
        assert len(items) == 1
        assert isinstance(items[0], Resync)

    async def test_the_event_stream_frames_changes_and_ends_on_close(self) -> None:
        hub = StreamHub()
        hub.start_at({0: 0})
        subscription = hub.subscribe("acme", None)
        hub.add(changed("acme"), 0, 0)
        hub.close()

        async def render(change: Change) -> dict[str, object]:
            return {"id": change.event.conversation_id}

        frames = [f async for f in event_stream(hub, subscription, render, 30)]
        assert frames[0].startswith("retry: ")
        assert "event: ready" in frames[0]
        assert frames[1] == f'event: conversation.changed\nid: {encode_position({0: 1})}\n' \
                            'data: {"id":"1:2"}\n\n'
        assert hub.subscriber_count() == 0
        assert not isinstance(subscription, Closed)


class CountingRepository(FakeRepository):
    """Counts conversation reads; each read yields once, as a real query would."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    async def conversation(self, tenant_id: str, conversation_id: str) -> Document | None:
        self.reads += 1
        await asyncio.sleep(0)
        return await super().conversation(tenant_id, conversation_id)


class TestSharedReads:
    async def test_one_change_to_many_clients_reads_the_conversation_once(self) -> None:
        repository = CountingRepository()
        doc = conversation(customer="2", number="1", version=7)
        repository.conversation_docs[doc["_id"]] = doc
        queries = InboxQueries(repository, lambda: NOW)
        hub = StreamHub()
        hub.start_at({0: 0})
        clients = [hub.subscribe("acme", None) for _ in range(25)]
        hub.add(changed("acme", conversation="1:2", version=7), 0, 0)
        hub.add(changed("acme", conversation="1:2", version=8), 0, 1)
        hub.close()

        async def frames(subscription: Subscription) -> list[str]:
            async def render(change: Change) -> dict[str, object] | None:
                return await queries.render_change("acme", change, hub.reads)
            return [f async for f in event_stream(hub, subscription, render, 30)]

        streams = await asyncio.gather(*(frames(s) for s in clients))
        assert repository.reads == 2  # once per change, not once per client
        for stream in streams:
            assert [f.split("\n")[0] for f in stream[1:]] == ["event: conversation.changed"] * 2
            assert '"version":7' in stream[1]

    async def test_a_failed_read_is_retried_by_the_next_client(self) -> None:
        reads: ReadOnce[str] = ReadOnce()
        attempts = 0

        async def flaky() -> str:
            nonlocal attempts
            attempts += 1
            if attempts == 1:
                raise ConnectionError("database away")
            return "ok"

        with pytest.raises(ConnectionError):
            await reads.get("k", flaky)
        assert await reads.get("k", flaky) == "ok"
        assert await reads.get("k", flaky) == "ok"
        assert attempts == 2

    async def test_keeps_only_the_latest_keys(self) -> None:
        reads: ReadOnce[int] = ReadOnce(size=3)
        for n in range(10):
            async def load(n: int = n) -> int:
                return n
            assert await reads.get(n, load) == n
        assert len(reads) == 3
