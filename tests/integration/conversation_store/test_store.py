"""conversation_store against the real broker and database."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from services.conversation_store.documents import command_message_id, message_id
from services.conversation_store.main import StoreService
from services.conversation_store.settings import ConversationStoreSettings
from shared.config import InfraSettings
from shared.events import CONVERSATION_EVENTS, MessageReceived, MessageStatusChanged
from shared.events.base import Event
from shared.events.topics import (
    INBOX_CONVERSATIONS,
    INBOX_OUTBOUND,
    WHATSAPP_INBOUND,
    dlq,
)
from shared.kafka import publish
from tests.integration.kafka_tools import read_topic
from tests.unit.conversation_store import builders as b

pytestmark = pytest.mark.integration


def store_settings(settings: InfraSettings) -> ConversationStoreSettings:
    return ConversationStoreSettings(
        kafka_bootstrap_servers=settings.kafka_bootstrap_servers,
        mongodb_uri=settings.mongodb_uri,
        mongodb_database=settings.mongodb_database,
        topic_prefix=settings.topic_prefix,
        topic_partitions=settings.topic_partitions,
        port=0,
        group_id=f"{settings.topic_prefix}store",
        max_batch=100,
    )


@pytest.fixture
async def service(settings: InfraSettings) -> AsyncIterator[StoreService]:
    store = StoreService(store_settings(settings))
    await store.start()
    task = asyncio.create_task(store.run())
    yield store
    store.stop()
    await asyncio.wait_for(task, 30)
    await store.close()


def conversation(i: int) -> str:
    return f"{b.NUMBER_ID}:55119876500{i:02d}"


def for_conversation(event: Event, i: int) -> Event:
    return event.model_copy(update={"conversation_id": conversation(i)})


async def send(producer: Any, settings: InfraSettings, events: list[Event]) -> None:
    inbound = [e for e in events if isinstance(e, MessageReceived | MessageStatusChanged)]
    outbound = [e for e in events if e not in inbound]
    await publish(producer, settings.topic(WHATSAPP_INBOUND), inbound)
    await publish(producer, settings.topic(INBOX_OUTBOUND), outbound)


async def wait_for(
    check: Callable[[], Awaitable[bool]], timeout: float = 25.0, every: float = 0.25
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if await check():
                return
        except Exception:
            pass  # the database may be down on purpose
        await asyncio.sleep(every)
    raise AssertionError("condition not reached in time")


def stream(conversations: int, messages: int) -> list[Event]:
    """Per conversation: inbound messages, one reply with shuffled, duplicated statuses."""
    rng = random.Random(7)
    events: list[Event] = []
    for i in range(conversations):
        mine: list[Event] = [b.received(f"in-{i}-{k}", k) for k in range(messages)]
        mine.append(b.accepted(f"cmd-{i}", f"out-{i}", messages + 1))
        statuses = [b.status(f"out-{i}", s, messages + 2 + n)
                    for n, s in enumerate(["sent", "delivered", "read"])]
        statuses += rng.sample(statuses, 2)  # Meta retried some
        rng.shuffle(statuses)
        mine += [*statuses, b.received(f"in-{i}-0", 0, arrived=99)]  # a duplicate message
        events += [for_conversation(e, i) for e in mine]
    return events


async def expect_documents(db: Any, conversations: int, messages: int) -> None:
    for i in range(conversations):
        cid = conversation(i)
        conv = await db.conversations.find_one({"_id": cid})
        assert conv["unread_count"] == messages
        assert conv["last_message_preview"] == "hello"
        out = await db.messages.find_one({"_id": command_message_id(cid, f"cmd-{i}")})
        assert out["status"] == "read"
        assert [s["status"] for s in out["statuses"]] == ["accepted", "sent", "delivered", "read"]
    total = await db.messages.count_documents({})
    assert total == conversations * (messages + 1)  # no duplicates, no stubs left


async def test_shuffled_duplicated_stream_gives_exactly_the_expected_documents(
    service: StoreService, settings: InfraSettings, producer: Any, db: Any
):
    await send(producer, settings, stream(6, 4))

    async def done() -> bool:
        return bool(await db.messages.count_documents({"status": "read"}) == 6)

    await wait_for(done)
    await expect_documents(db, 6, 4)
    conv = await db.conversations.find_one({"_id": conversation(0)})
    notices = await read_topic(settings, INBOX_CONVERSATIONS, min_records=6)
    latest = [CONVERSATION_EVENTS.validate_json(r.value) for r in notices
              if r.key == conversation(0).encode()]
    assert max(n.summary.version for n in latest) == conv["version"]
    indexes = await db.conversations.index_information()
    assert {"tenant_activity", "tenant_search"} <= set(indexes)


async def test_poison_record_is_dead_lettered_and_the_rest_folded(
    service: StoreService, settings: InfraSettings, producer: Any, db: Any
):
    topic = settings.topic(WHATSAPP_INBOUND)
    cid = conversation(1)
    await producer.send_and_wait(topic, b'{"type": "message.received", "nonsense": 1}',
                                 key=cid.encode())
    await send(producer, settings, [for_conversation(b.received("w1", 0), 1)])

    async def folded() -> bool:
        return await db.messages.find_one({"_id": message_id(cid, "w1")}) is not None

    await wait_for(folded)
    [dead] = await read_topic(settings, dlq(WHATSAPP_INBOUND), min_records=1)
    assert b"nonsense" in dead.value
    assert dict(dead.headers)["dlq-error"].startswith(b"invalid record")


async def test_database_stopped_mid_stream_loses_nothing(
    service: StoreService, settings: InfraSettings, producer: Any, db: Any, infra: Any
):
    events = stream(4, 3)
    half = len(events) // 2
    await send(producer, settings, events[:half])
    await wait_for(lambda: _has_messages(db))
    await asyncio.to_thread(infra.stop_mongo)
    try:
        await send(producer, settings, events[half:])
        await asyncio.sleep(3)  # the store is now retrying against a dead database
    finally:
        await asyncio.to_thread(infra.start_mongo)

    async def done() -> bool:
        return bool(await db.messages.count_documents({"status": "read"}) == 4)

    await wait_for(done, timeout=40)
    await expect_documents(db, 4, 3)


async def _has_messages(db: Any) -> bool:
    return bool(await db.messages.count_documents({}) > 0)


def _spawn(settings: InfraSettings, log: Any = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    s = store_settings(settings)
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": s.kafka_bootstrap_servers,
        "MONGODB_URI": s.mongodb_uri,
        "MONGODB_DATABASE": s.mongodb_database,
        "KAFKA_TOPIC_PREFIX": s.topic_prefix,
        "KAFKA_TOPIC_PARTITIONS": str(s.topic_partitions),
        "CONVERSATION_STORE_PORT": "0",
        "CONVERSATION_STORE_GROUP_ID": s.group_id,
        "CONVERSATION_STORE_MAX_BATCH": "20",
    }
    return subprocess.Popen([sys.executable, "-m", "services.conversation_store"], env=env,
                            stdout=log, stderr=subprocess.STDOUT)


async def test_killed_mid_stream_and_restarted_ends_with_the_same_documents(
    settings: InfraSettings, producer: Any, db: Any, tmp_path: Any
):
    events = stream(10, 8)
    first, rest = events[:100], events[100:]
    log = (tmp_path / "store.log").open("wb")
    process = _spawn(settings, log)
    try:
        await send(producer, settings, first)
        await wait_for(lambda: _has_messages(db), every=0.005)  # then kill it mid-batches
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        await send(producer, settings, rest)
        process = _spawn(settings, log)

        async def done() -> bool:
            return bool(await db.messages.count_documents({"status": "read"}) == 10)

        # The group first waits out the killed member's session (10 s), then rebalances.
        await wait_for(done, timeout=80)
        await expect_documents(db, 10, 8)
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


async def test_a_stop_during_start_up_makes_run_return_at_once(settings: InfraSettings):
    store = StoreService(store_settings(settings))
    store.stop()  # SIGTERM while still starting (a rollout that changed its mind)
    try:
        await store.start()
        await asyncio.wait_for(store.run(), 10)
    finally:
        await store.close()
