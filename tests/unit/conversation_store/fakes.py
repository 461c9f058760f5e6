"""Hand-written fakes of the store's ports, plus a driver that feeds events like Kafka would."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import bson
from bson.codec_options import CodecOptions

from services.conversation_store.adapters.mongo import conversation_document
from services.conversation_store.cache import CachingRepository
from services.conversation_store.changes import ThreadChange
from services.conversation_store.documents import Conversation, Message
from services.conversation_store.handlers import StoreHandler
from services.conversation_store.ports import Wanted, WriteConflict
from services.conversation_store.thread import Outgoing, Thread
from shared.consumer import Received
from shared.events import (
    AppContactSynced,
    CallUpdated,
    ConversationAbsorbed,
    ConversationChanged,
    ConversationMerged,
    MessageEchoed,
    MessageReceived,
    MessageStatusChanged,
)
from shared.events.base import Event
from shared.events.commands import Command
from tests.unit.conversation_store.builders import T0

TOPICS = {"whatsapp.inbound.v1": "in", "inbox.outbound.v1": "out", "inbox.commands.v1": "cmd"}


def stored(doc: dict[str, Any]) -> dict[str, Any]:
    """The document as the database gives it back: through BSON, datetimes tz-aware."""
    return bson.decode(bson.encode(doc), codec_options=STORED)


STORED: CodecOptions[dict[str, Any]] = CodecOptions(tz_aware=True)


class FakeRepository:
    """Documents in dicts, stored as the Mongo adapter would store them."""

    def __init__(self) -> None:
        self.conversations: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, dict[str, Any]] = {}
        self.fail_messages_once = False  # simulate a crash between the two writes
        self.conflict_once = False
        self.saves = 0
        self.loads: list[dict[str, Wanted]] = []  # what each load asked for

    async def load(self, wanted: Mapping[str, Wanted]) -> dict[str, Thread]:
        self.loads.append(dict(wanted))
        threads = {}
        for cid, need in wanted.items():
            messages = {
                mid: Message.model_validate(doc) for mid, doc in self.messages.items()
                if doc["conversation_id"] == cid
                and (need.all or mid in need.ids or doc.get("wamid") in need.wamids)
            }
            doc = self.conversations.get(cid)
            threads[cid] = Thread(id=cid, messages=messages, conversation=(
                Conversation.model_validate(doc) if doc else None))
        return threads

    async def save(self, changes: Sequence[ThreadChange]) -> None:
        if self.conflict_once:
            self.conflict_once = False
            raise WriteConflict("simulated")
        self.saves += 1
        for change in changes:
            self.conversations[change.conversation.id] = stored(
                conversation_document(change.conversation))
        if self.fail_messages_once:
            self.fail_messages_once = False
            raise ConnectionError("database went away between the two writes")
        for change in changes:
            for message in [*change.inserts, *change.replaces]:
                self.messages[message.id] = stored(message.to_document())
            for mid in change.deletes:
                del self.messages[mid]

    def conversation(self, cid: str) -> Conversation:
        return Conversation.model_validate(self.conversations[cid])

    def message(self, mid: str) -> Message:
        return Message.model_validate(self.messages[mid])

    def visible(self, cid: str) -> list[Message]:
        found = [Message.model_validate(d) for d in self.messages.values()
                 if d["conversation_id"] == cid and d["visible"]]
        return sorted(found, key=lambda m: m.sort_key or "")


class FakePublisher:
    def __init__(self) -> None:
        self.published: list[ConversationChanged] = []

    async def publish(self, notices: Sequence[ConversationChanged]) -> None:
        self.published.extend(notices)


class FakeForwarder:
    """Keeps what the fold handed to other conversations (merge.py) until it is delivered."""

    def __init__(self) -> None:
        self.forwarded: list[Outgoing] = []
        self.pending: list[Outgoing] = []

    async def forward(self, outgoing: Sequence[Outgoing]) -> None:
        self.forwarded.extend(outgoing)
        self.pending.extend(outgoing)


class Feeder:
    """Gives events offsets per topic (one partition each), as a broker would.

    ``repository`` is the fake database; the handler reads it through the thread cache unless
    ``cached`` is False. What the store forwards waits in ``forwarder.pending`` until
    :meth:`deliver` feeds it back, as the broker would."""

    def __init__(self, cached: bool = True) -> None:
        self.repository = FakeRepository()
        self.cache = CachingRepository(self.repository)
        self.publisher = FakePublisher()
        self.forwarder = FakeForwarder()
        self.handler = StoreHandler(self.cache if cached else self.repository, self.publisher,
                                    TOPICS, lambda: T0, forwarder=self.forwarder)
        self.offsets: dict[str, int] = {}
        self.log: list[Received[Event]] = []

    async def deliver(self, batch: int = 1) -> int:
        """Feed back what the store forwarded, until nothing more is; returns how many."""
        count = 0
        while self.forwarder.pending:
            pending, self.forwarder.pending = self.forwarder.pending, []
            count += len(pending)
            await self.feed(*(o.event for o in pending), batch=batch)
        return count

    def record(self, event: Event) -> Received[Event]:
        if isinstance(event, MessageReceived | MessageStatusChanged | ConversationMerged
                      | ConversationAbsorbed | MessageEchoed | CallUpdated | AppContactSynced):
            topic = "whatsapp.inbound.v1"
        elif isinstance(event, Command):
            topic = "inbox.commands.v1"
        else:
            topic = "inbox.outbound.v1"
        offset = self.offsets.get(topic, 0)
        self.offsets[topic] = offset + 1
        received = Received(event, topic, 0, offset, None, b"")
        self.log.append(received)
        return received

    async def feed(self, *events: Event, batch: int = 1) -> None:
        records = [self.record(e) for e in events]
        for start in range(0, len(records), batch):
            await self.handler(records[start:start + batch])

    async def replay(self, records: Sequence[Received[Event]]) -> None:
        await self.handler(list(records))
