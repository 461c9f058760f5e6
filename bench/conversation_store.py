"""Benchmark: conversation_store folding a backlog vs a raw bulk insert of the same documents.

    python -m bench.conversation_store [--conversations 200] [--inbound 10] [--outbound 5]

One run, one database server, one database:
1. Publish a backlog to Kafka: per conversation, inbound messages, outbound accepted results and
   their sent/delivered/read statuses (shuffled, some duplicated).
2. Start the store in this process (default settings). ``startup_seconds``: until the consumer
   group assigned its partitions. ``store_seconds``: from then until the group's committed
   offsets reach the end of every input partition. The store commits only after its writes, so
   that is "everything folded and written". Progress is watched on Kafka, not with queries
   that would load the database under test.
3. Live end-to-end lag: with the store caught up, publish bursts of inbound messages and time
   each from publish to every message being readable in MongoDB (p50 and max over the bursts).
4. Baseline: read the documents the store produced and time a plain ``insert_many`` of the same
   documents (conversations, then messages) into new collections of the same database, given the
   store's indexes first (index creation is not timed). Also reported: the same insert into an
   empty database, the state the store started from (on FerretDB each database is its own
   SQLite file, and the store's writes have grown the first one's write-ahead log).
The figure is ``ratio_raw_over_store`` = raw_insert_seconds / store_seconds: the store's time to
turn the backlog of events into its documents, against the time a bare insert of those finished
documents takes. 1.0 would mean the store costs no more than writing its output once; the goal is
>= 0.5. Printed as JSON and written to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from statistics import median
from typing import Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from devstack.bench import arguments, on_local_stack, report
from services.conversation_store.adapters.mongo import INDEXES
from services.conversation_store.main import StoreService
from services.conversation_store.settings import ConversationStoreSettings
from shared.events import (
    CustomerProfile,
    InboundMessage,
    MessageAccepted,
    MessageReceived,
    MessageStatusChanged,
    OutboundContent,
    StatusUpdate,
)
from shared.events.base import Event
from shared.events.topics import ALL_TOPICS, DLQ_TOPICS, INBOX_OUTBOUND, WHATSAPP_INBOUND
from shared.kafka import ensure_topics, make_producer, publish
from shared.mongo import ensure_indexes, make_client

NUMBER_ID = "106540352242922"
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def customer(i: int) -> str:
    return f"5511{900000000 + i:09d}"


def inbound(i: int, k: int, t: float, now: datetime | None = None) -> MessageReceived:
    cid = f"{NUMBER_ID}:{customer(i)}"
    return MessageReceived(
        occurred_at=now or T0 + timedelta(seconds=t + 1), tenant_id="bench", conversation_id=cid,
        payload=InboundMessage(
            wamid=f"wamid.in.{i}.{k}", message_type="text", sent_at=T0 + timedelta(seconds=t),
            business_phone_number_id=NUMBER_ID, from_wa_id=customer(i),
            customer=CustomerProfile(wa_id=customer(i), name=f"Customer {i}"),
            content={"body": f"Message {k} from customer {i}, is my order on its way?"},
            preview=f"Message {k} from customer {i}, is my order on its way?"))


def backlog(conversations: int, inbound_n: int, outbound_n: int) -> tuple[list[Event], list[Event]]:
    rng = random.Random(1)
    inbound_topic: list[Event] = []
    outbound_topic: list[Event] = []
    for i in range(conversations):
        cid = f"{NUMBER_ID}:{customer(i)}"
        inbound_topic += [inbound(i, k, 10 * k) for k in range(inbound_n)]
        for k in range(outbound_n):
            t = T0 + timedelta(seconds=10 * k + 5)
            wamid = f"wamid.out.{i}.{k}"
            outbound_topic.append(MessageAccepted(
                occurred_at=t, tenant_id="bench", conversation_id=cid, command_id=f"c{i}.{k}",
                business_phone_number_id=NUMBER_ID, customer_wa_id=customer(i),
                actor_id="agent-1", content=OutboundContent(kind="text", text=f"Reply {k}"),
                wamid=wamid, accepted_at=t))
            statuses: list[Event] = [MessageStatusChanged(
                occurred_at=t + timedelta(seconds=n + 2), tenant_id="bench", conversation_id=cid,
                payload=StatusUpdate(wamid=wamid, status=s, at=t + timedelta(seconds=n + 1),
                                     business_phone_number_id=NUMBER_ID,
                                     recipient_wa_id=customer(i)))
                for n, s in enumerate(["sent", "delivered", "read"])]
            rng.shuffle(statuses)
            if rng.random() < 0.3:
                statuses.append(statuses[0])  # Meta retried one
            inbound_topic += statuses
    return inbound_topic, outbound_topic


async def wait_until(check: Any, timeout: float = 600.0, every: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("the store did not finish in time")
        await asyncio.sleep(every)


async def raw_insert(
    db: Any, prefix: str, conversations: list[Any], messages: list[Any]
) -> float:
    """Seconds to insert_many the documents into ``{prefix}conversations`` and
    ``{prefix}messages``, created first with the store's indexes (not timed)."""
    await ensure_indexes(db, {f"{prefix}{c}": models for c, models in INDEXES.items()})
    started = time.perf_counter()
    await db[f"{prefix}conversations"].insert_many(conversations, ordered=False)
    await db[f"{prefix}messages"].insert_many(messages, ordered=False)
    return time.perf_counter() - started


def end_offsets(acks: list[Any]) -> dict[TopicPartition, int]:
    ends: dict[TopicPartition, int] = {}
    for ack in acks:
        tp = TopicPartition(ack.topic, ack.partition)
        ends[tp] = max(ends.get(tp, 0), ack.offset + 1)
    return ends


async def run(args: argparse.Namespace, bootstrap: str, mongo_uri: str) -> dict[str, Any]:
    name = f"bench{uuid.uuid4().hex[:8]}"
    overrides = {"max_batch": args.max_batch} if args.max_batch else {}
    settings = ConversationStoreSettings(
        kafka_bootstrap_servers=bootstrap, mongodb_uri=mongo_uri, mongodb_database=name,
        topic_prefix=f"{name}.", topic_partitions=3, port=0, group_id=f"{name}.store",
        **overrides)
    await ensure_topics(settings, [*ALL_TOPICS, *DLQ_TOPICS])
    inbound_events, outbound_events = backlog(args.conversations, args.inbound, args.outbound)
    total = len(inbound_events) + len(outbound_events)
    producer = make_producer(settings)
    await producer.start()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    client = make_client(settings)
    db = client[name]
    raw_db = client[f"{name}raw"]
    try:
        ends = end_offsets(
            await publish(producer, settings.topic(WHATSAPP_INBOUND), inbound_events)
            + await publish(producer, settings.topic(OUTBOUND_TOPIC), outbound_events))

        store = StoreService(settings)
        started = time.perf_counter()
        await store.start()
        task = asyncio.create_task(store.run())
        assert store.runner is not None
        consumer = store.runner.consumer

        async def caught_up() -> bool:
            # Cheap local check first (fetched up to the end), then ask the broker for commits.
            for tp, end in ends.items():
                if await consumer.position(tp) < end:
                    return False
            committed = await admin.list_consumer_group_offsets(settings.group_id)
            return all(tp in committed and committed[tp].offset >= end
                       for tp, end in ends.items())

        async def assigned() -> bool:
            return bool(consumer.assignment())

        await wait_until(assigned, every=0.002)
        folding = time.perf_counter()
        await wait_until(caught_up)
        store_seconds = time.perf_counter() - folding
        startup_seconds = folding - started
        expected_read = args.conversations * args.outbound
        read = await db.messages.count_documents({"status": "read"})
        if read != expected_read:
            raise AssertionError(f"{read} messages read, {expected_read} expected")
        lags = []
        for burst in range(args.bursts):
            now = datetime.now(UTC)
            events = [inbound(i, 1000 + burst, 100000 + burst, now=now)
                      for i in range(args.burst_size)]
            sent = time.perf_counter()
            await publish(producer, settings.topic(WHATSAPP_INBOUND), events)
            wanted = [f"{e.conversation_id}/{e.payload.wamid}" for e in events]

            async def arrived(wanted: list[str] = wanted) -> bool:
                found = await asyncio.gather(
                    *(db.messages.find_one({"_id": mid}, {"_id": 1}) for mid in wanted))
                return all(doc is not None for doc in found)

            await wait_until(arrived, 60)
            lags.append(time.perf_counter() - sent)
        store.stop()
        await task
        await store.close()
        conversations = await db.conversations.find({}).to_list(None)
        messages = await db.messages.find({}).to_list(None)
        raw_seconds = await raw_insert(db, "raw_", conversations, messages)
        fresh_seconds = await raw_insert(raw_db, "", conversations, messages)
        documents = len(conversations) + len(messages)
        return {
            "benchmark": "conversation_store",
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "events": total,
            "conversations": len(conversations),
            "messages": len(messages),
            "max_batch": settings.max_batch,
            "startup_seconds": round(startup_seconds, 3),
            "store_seconds": round(store_seconds, 3),
            "events_folded_per_second": round(total / store_seconds, 1),
            "store_documents_per_second": round(documents / store_seconds, 1),
            "raw_insert_seconds": round(raw_seconds, 3),
            "raw_documents_per_second": round(documents / raw_seconds, 1),
            "ratio_raw_over_store": round(raw_seconds / store_seconds, 3),
            "goal_ratio": 0.5,
            "raw_insert_into_empty_database_seconds": round(fresh_seconds, 3),
            "ratio_vs_empty_database": round(fresh_seconds / store_seconds, 3),
            "end_to_end_lag_seconds": {"bursts": args.bursts, "burst_size": args.burst_size,
                                       "p50": round(median(lags), 4),
                                       "max": round(max(lags), 4)},
        }
    finally:
        await producer.stop()
        await admin.close()
        await client.drop_database(name)
        await client.drop_database(raw_db.name)
        await client.close()


OUTBOUND_TOPIC = INBOX_OUTBOUND


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--inbound", type=int, default=10)
    parser.add_argument("--outbound", type=int, default=5)
    parser.add_argument("--bursts", type=int, default=10)
    parser.add_argument("--burst-size", type=int, default=20)
    parser.add_argument("--max-batch", type=int, default=0,
                        help="override CONVERSATION_STORE_MAX_BATCH (default: the service's)")
    args = parser.parse_args()
    report("conversation_store", on_local_stack(
        lambda stack: run(args, stack.kafka_bootstrap_servers, stack.mongodb_uri)))


if __name__ == "__main__":
    main()
