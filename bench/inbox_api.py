"""Benchmark: inbox_api list and thread latency as one tenant grows from 10,000 to 100,000
conversations (10 messages each: 1,000,000 messages at the full size).

    python -m bench.inbox_api [--conversations-a 10000] [--conversations-b 100000]
        [--messages-per-conversation 10] [--requests 300] [--max-seconds 120] [--quick]

Method, one run, one database server:
1. Seed. The documents are the store's own: for each kind of conversation (waiting for a reply
   with unread messages; answered; answered and resolved; answered and assigned to the bench
   agent) one conversation's events (inbound texts, agent replies accepted by the Cloud API with
   their sent/delivered/read statuses, MarkRead, resolve, assign) are folded with
   conversation_store's pure fold (``projection.fold``), turned into writes by its ``diff`` and
   written out as its repository writes them. Those templates are cloned with a new customer
   number, contact name and time shift (ids, wamids, search keys and sort keys follow). The
   store's indexes are created first, then ``insert_many`` in large batches. Phase A holds
   ``--conversations-a`` conversations of the tenant; phase B grows the same database to
   ``--conversations-b``. A second tenant (``--other-tenant`` conversations) makes the tenant
   filter real.
2. Serve the real app: ``python -m services.inbox_api`` in its own process (uvicorn, as
   deployed) against that database and Kafka, with an agent key made by
   ``services.inbox_api.admin.create_tenant``.
3. Measure over loopback with httpx, closed loop, one request at a time, after a warm-up, per
   endpoint: ``/healthz`` (the baseline: this machine's HTTP floor); the list's first page
   (limit 50); deeper pages (walking ``next_cursor`` down to ``--list-depth`` pages, then from
   the top again); the unread filter; a contact search by name (``q`` = three letters of a
   first name; message texts name the customer too, as agents' replies do) and by number
   (``q`` = the first ten digits of a customer's number, which no message text contains, so the
   API's message-text search reads all of the tenant's messages); a random conversation's
   newest thread page; and an older page (``before`` = the ``next_before`` of a half-size
   newest page, fetched untimed). An endpoint stops after ``--requests`` timed requests or
   ``--max-seconds``, whichever comes first (``n`` says how many ran).
The figures are p50/p99/mean milliseconds per endpoint per phase, and the flatness figure
``p99 phase B / p99 phase A`` per endpoint. Goal (issue 7): p99 < 30 ms, flatness <= 1.5.

The server that ran is reported (``buildInfo``; FerretDB adds ``ferretdbVersion`` there).
Locally, without ``mongod`` on PATH, that is FerretDB v1.24.2 on SQLite, which evaluates every
filter except one on ``_id`` in Go over the whole collection (docs/infrastructure.md): each list
or thread request decodes every conversation or message of every tenant, so latency grows
linearly with the data and the goal is out of reach there by construction. Before phase B the
run prints a projection from phase A (seeding and request latency linear in size) so that a
full-size run on FerretDB can be cut short. The real figure needs real MongoDB:
``MONGODB_URI=... KAFKA_BOOTSTRAP_SERVERS=... python -m bench.inbox_api``, or a machine with
``mongod`` on PATH. Results are printed as JSON and written to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from statistics import fmean
from typing import Any

import httpx

from devstack.bench import REPO, arguments, on_local_stack, report, stop, wait_http
from devstack.process import free_port
from services.conversation_store.adapters.mongo import INDEXES, conversation_document
from services.conversation_store.changes import diff
from services.conversation_store.projection import fold
from services.conversation_store.thread import Position, Thread
from services.inbox_api.admin import create_tenant
from shared.config import InfraSettings
from shared.events import (
    AssignConversation,
    CustomerProfile,
    InboundMessage,
    MarkRead,
    MessageAccepted,
    MessageReceived,
    MessageStatusChanged,
    OutboundContent,
    SetConversationStatus,
    StatusUpdate,
)
from shared.events.base import Event
from shared.mongo import Document, ensure_indexes, make_client

TENANT = "bench"
OTHER_TENANT = "bench-other"
NUMBER_ID = "106540352242922"
OTHER_NUMBER_ID = "106540352249999"
AGENT = "agent-1"
GOAL_P99_MS = 30.0
GOAL_FLATNESS = 1.5
# Template placeholders, replaced in every string of a clone. The number is never one a clone
# gets (clones count up from 5511900000000).
TEMPLATE_NUMBER = "5511999999999"
FIRST, LAST = "Qqfirst", "Qqlast"
FIRST_NAMES = ["Ana", "Bruno", "Carla", "Diego", "Elisa", "Felipe", "Gabriela", "Heitor",
               "Isabela", "Joao", "Karina", "Lucas", "Mariana", "Nicolas", "Olivia", "Pedro",
               "Quiteria", "Rafael", "Sofia", "Tiago", "Ursula", "Vitor", "Wanda", "Xavier",
               "Yasmin", "Zeca", "Beatriz", "Caio", "Daniela", "Eduardo", "Fernanda", "Gustavo",
               "Helena", "Igor", "Julia", "Leonardo", "Manuela", "Otavio", "Paula", "Renata"]
LAST_NAMES = ["Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves",
              "Pereira", "Lima", "Gomes", "Costa", "Ribeiro", "Martins", "Carvalho", "Almeida",
              "Lopes", "Soares", "Fernandes", "Vieira", "Barbosa", "Rocha", "Dias", "Nunes",
              "Mendes", "Cardoso", "Teixeira", "Moreira", "Castro", "Campos", "Freitas"]
# Kinds of conversation and their share of the tenant's list.
KINDS = {"waiting": 0.3, "answered": 0.4, "resolved": 0.2, "assigned": 0.1}
SPREAD = timedelta(days=90)  # last activity is spread over this much time, ending now
SORT_KEY = re.compile(r"^(\d{14})\.(\d{14})\.(.*)$")


def customer(i: int) -> str:
    return f"5511{900000000 + i:09d}"


# ------------------------------------------------------------------------------ seeding

def template_events(kind: str, tenant: str, number_id: str, messages: int,
                    t0: datetime) -> list[Event]:
    """One conversation's events in arrival order: customer texts and agent replies alternate
    (a waiting conversation ends with the customer, the others with the agent)."""
    cid = f"{number_id}:{TEMPLATE_NUMBER}"
    events: list[Event] = []
    last_inbound: str | None = None
    for k in range(messages):
        t = t0 + timedelta(minutes=7 * k, seconds=k)
        inbound = k % 2 == 0 if k < messages - 1 else kind == "waiting"
        if inbound:
            wamid = f"wamid.in.{TEMPLATE_NUMBER}.{k}"
            text = (f"Hi, this is {FIRST} again: is order {4000 + k} on its way? I ordered it "
                    "last week and have not heard back." if k else
                    f"Hello! {FIRST} {LAST} here, I have a question about my order.")
            events.append(MessageReceived(
                occurred_at=t + timedelta(milliseconds=400), tenant_id=tenant,
                conversation_id=cid,
                payload=InboundMessage(
                    wamid=wamid, message_type="text", sent_at=t,
                    business_phone_number_id=number_id, from_wa_id=TEMPLATE_NUMBER,
                    business_display_number="15550783881",
                    customer=CustomerProfile(wa_id=TEMPLATE_NUMBER, name=f"{FIRST} {LAST}"),
                    content={"body": text}, preview=text)))
            last_inbound = wamid
            continue
        if last_inbound is not None:
            events.append(MarkRead(
                occurred_at=t - timedelta(seconds=30), tenant_id=tenant, conversation_id=cid,
                command_id=f"read.{TEMPLATE_NUMBER}.{k}", actor_id=AGENT,
                business_phone_number_id=number_id, message_wamid=last_inbound))
        wamid = f"wamid.out.{TEMPLATE_NUMBER}.{k}"
        text = f"Thanks {FIRST}! Order {4000 + k - 1} left our warehouse yesterday."
        events.append(MessageAccepted(
            occurred_at=t, tenant_id=tenant, conversation_id=cid,
            command_id=f"cmd.{TEMPLATE_NUMBER}.{k}", business_phone_number_id=number_id,
            customer_wa_id=TEMPLATE_NUMBER, actor_id=AGENT,
            content=OutboundContent(kind="text", text=text), wamid=wamid, accepted_at=t))
        for n, status in enumerate(["sent", "delivered", "read"]):
            at = t + timedelta(seconds=2 + 20 * n)
            events.append(MessageStatusChanged(
                occurred_at=at + timedelta(milliseconds=300), tenant_id=tenant,
                conversation_id=cid,
                payload=StatusUpdate(wamid=wamid, status=status, at=at,
                                     business_phone_number_id=number_id,
                                     recipient_wa_id=TEMPLATE_NUMBER)))
    end = t0 + timedelta(minutes=7 * messages)
    if kind == "resolved":
        events.append(SetConversationStatus(
            occurred_at=end, tenant_id=tenant, conversation_id=cid,
            command_id=f"resolve.{TEMPLATE_NUMBER}", actor_id=AGENT, status="resolved"))
    elif kind == "assigned":
        events.append(AssignConversation(
            occurred_at=end, tenant_id=tenant, conversation_id=cid,
            command_id=f"assign.{TEMPLATE_NUMBER}", actor_id="lead", assignee_id=AGENT))
    return events


@dataclass
class Template:
    """A folded conversation: its documents as the store writes them, and its newest time."""

    conversation: Document
    messages: list[Document]
    last_activity_at: datetime


def folded(kind: str, tenant: str, number_id: str, messages: int, t0: datetime) -> Template:
    """Fold the events with the store's fold; positions as the store's consumer would give
    (inbound, outbound and command topics, one partition each, offsets in order)."""
    offsets = {"in": 0, "out": 0, "cmd": 0}
    steps: list[tuple[Event, Position]] = []
    for event in template_events(kind, tenant, number_id, messages, t0):
        source = ("out" if isinstance(event, MessageAccepted)
                  else "cmd" if isinstance(event, MarkRead | AssignConversation
                                           | SetConversationStatus) else "in")
        steps.append((event, Position(source, 0, offsets[source])))
        offsets[source] += 1
    empty = Thread(id=f"{number_id}:{TEMPLATE_NUMBER}")
    # The writes the store makes when the whole history arrives in one batch.
    change = diff(empty, fold(empty, steps))
    assert change is not None
    assert not change.replaces
    assert not change.deletes
    conversation = change.conversation
    assert conversation.customer_wa_ids == [TEMPLATE_NUMBER], conversation.customer_wa_ids
    assert conversation.last_activity_at is not None
    return Template(conversation_document(conversation),
                    [m.to_document() for m in change.inserts], conversation.last_activity_at)


class Cloner:
    """A template's documents for another customer, name and time: every string has the
    placeholders replaced, every date is shifted, and sort keys (times in text) follow."""

    def __init__(self, number: str, first: str, last: str, shift: timedelta) -> None:
        self.pairs = [(TEMPLATE_NUMBER, number), (FIRST, first), (LAST, last),
                      (FIRST.lower(), first.lower()), (LAST.lower(), last.lower())]
        self.shift = shift
        self.shift_ms = int(shift / timedelta(milliseconds=1))

    def text(self, value: str) -> str:
        for old, new in self.pairs:
            if old in value:
                value = value.replace(old, new)
        return value

    def sort_key(self, value: str) -> str:
        match = SORT_KEY.match(value)
        assert match is not None, value
        sent, received, rest = match.groups()
        return (f"{int(sent) + self.shift_ms:014d}.{int(received) + self.shift_ms:014d}."
                f"{self.text(rest)}")

    def clone(self, value: Any, key: str = "") -> Any:
        if isinstance(value, str):
            if key in ("sort_key", "last_message_sort_key"):
                return self.sort_key(value)
            return self.text(value)
        if isinstance(value, datetime):
            return value + self.shift
        if isinstance(value, dict):
            return {self.text(k): self.clone(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.clone(v, key) for v in value]
        return value


@dataclass
class Seeded:
    """What the seeding produced: the tenant's conversation ids and the time it took."""

    conversation_ids: list[str] = field(default_factory=list)
    first_names: list[str] = field(default_factory=list)
    seconds: float = 0.0
    conversations: int = 0
    messages: int = 0


async def seed(db: Any, tenant: str, number_id: str, start: int, stop: int, messages: int,
               seed_value: int, batch: int, seeded: Seeded, now: datetime) -> None:
    """Insert conversations ``start..stop-1`` of ``tenant``, in batches of ``batch``
    conversations (and their messages)."""
    rng = random.Random(seed_value)
    t0 = now - SPREAD - timedelta(days=2)
    templates = {kind: folded(kind, tenant, number_id, messages, t0) for kind in KINDS}
    kinds, weights = list(KINDS), list(KINDS.values())
    began = time.perf_counter()
    for lo in range(start, stop, batch):
        conversations: list[Document] = []
        message_docs: list[Document] = []
        for i in range(lo, min(stop, lo + batch)):
            template = templates[rng.choices(kinds, weights)[0]]
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            # The newest message lands anywhere in the last SPREAD, at a whole millisecond.
            newest = now - timedelta(milliseconds=rng.randrange(int(SPREAD.total_seconds())
                                                                * 1000))
            cloner = Cloner(customer(i), first, last, newest - template.last_activity_at)
            conversation = cloner.clone(template.conversation)
            conversations.append(conversation)
            message_docs += [cloner.clone(m) for m in template.messages]
            seeded.conversation_ids.append(conversation["_id"])
            seeded.first_names.append(first)
        await db.conversations.insert_many(conversations, ordered=False)
        await db.messages.insert_many(message_docs, ordered=False)
        seeded.conversations += len(conversations)
        seeded.messages += len(message_docs)
    seeded.seconds += time.perf_counter() - began


async def server_kind(db: Any) -> dict[str, Any]:
    """Which server answered: FerretDB names itself in buildInfo."""
    info = await db.command("buildInfo")
    if "ferretdbVersion" in info:  # FerretDB also claims a MongoDB version, for drivers
        return {"server": "FerretDB", "version": str(info["ferretdbVersion"]),
                "claims_mongodb_version": str(info.get("version"))}
    return {"server": "MongoDB", "version": str(info.get("version"))}


# ------------------------------------------------------------------------------ serving

@contextmanager
def serving(env: dict[str, str], port: int) -> Iterator[str]:
    """``python -m services.inbox_api`` in its own process; its base URL once /readyz says so."""
    process = subprocess.Popen(
        # Its logs go to stderr with ours: stdout carries only the result.
        [sys.executable, "-m", "services.inbox_api"], cwd=REPO, stdout=sys.stderr,
        env={**os.environ, "PYTHONPATH": str(REPO), "LOG_LEVEL": "WARNING",
             "INBOX_API_PORT": str(port), **env})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(port, "/readyz", process, timeout=60)
        yield base
    finally:
        stop(process, timeout=15)


# ------------------------------------------------------------------------------ measuring

def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest rank: the smallest value with at least ``q`` of the values at or below it."""
    rank = max(1, int(-(-q * len(sorted_values) // 1)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summary(samples: list[float]) -> dict[str, Any]:
    ordered = sorted(samples)
    return {"n": len(ordered), "p50_ms": round(percentile(ordered, 0.5) * 1000, 2),
            "p99_ms": round(percentile(ordered, 0.99) * 1000, 2),
            "mean_ms": round(fmean(ordered) * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2)}


class Load:
    """Closed loop, one request at a time, over one keep-alive connection."""

    def __init__(self, client: httpx.AsyncClient, args: argparse.Namespace,
                 seeded: Seeded, rng: random.Random) -> None:
        self.client, self.args, self.seeded, self.rng = client, args, seeded, rng
        self.list_cursor: str | None = None
        self.list_depth = 0

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        response = await self.client.get(path, params=params)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} {params}: {response.status_code} {response.text}")
        return response.json()

    async def timed(self, path: str, params: dict[str, Any] | None = None) -> tuple[float, Any]:
        started = time.perf_counter()
        response = await self.client.get(path, params=params)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} {params}: {response.status_code} {response.text}")
        return elapsed, response.json()

    async def healthz(self) -> float:
        return (await self.timed("/healthz"))[0]

    async def list_first(self) -> float:
        elapsed, page = await self.timed("/api/v1/conversations", {"limit": 50})
        self.check_page(page)
        return elapsed

    async def list_deeper(self) -> float:
        if self.list_cursor is None or self.list_depth >= self.args.list_depth:
            first = await self.get("/api/v1/conversations", {"limit": 50})
            self.list_cursor, self.list_depth = first["next_cursor"], 1
        elapsed, page = await self.timed("/api/v1/conversations",
                                         {"limit": 50, "cursor": self.list_cursor})
        self.check_page(page)
        self.list_cursor, self.list_depth = page["next_cursor"], self.list_depth + 1
        return elapsed

    async def list_unread(self) -> float:
        elapsed, page = await self.timed("/api/v1/conversations",
                                         {"limit": 50, "filter": "unread"})
        self.check_page(page)
        if any(item["unread_count"] == 0 for item in page["items"]):
            raise AssertionError("the unread filter returned a read conversation")
        return elapsed

    async def search(self) -> float:
        prefix = self.rng.choice(self.seeded.first_names)[:3].lower()
        elapsed, page = await self.timed("/api/v1/conversations", {"limit": 50, "q": prefix})
        self.check_page(page)
        return elapsed

    async def search_number(self) -> float:
        cid = self.rng.choice(self.seeded.conversation_ids)
        prefix = cid.split(":")[1][:10]
        elapsed, page = await self.timed("/api/v1/conversations", {"limit": 50, "q": prefix})
        self.check_page(page)
        return elapsed

    async def thread_newest(self) -> float:
        cid = self.rng.choice(self.seeded.conversation_ids)
        elapsed, page = await self.timed(f"/api/v1/conversations/{cid}/messages",
                                         {"limit": 50})
        if not page["items"]:
            raise AssertionError(f"{cid}: empty thread")
        return elapsed

    async def thread_older(self) -> float:
        cid = self.rng.choice(self.seeded.conversation_ids)
        newest = await self.get(f"/api/v1/conversations/{cid}/messages",
                                {"limit": max(1, self.args.messages_per_conversation // 2)})
        if newest["next_before"] is None:
            raise AssertionError(f"{cid}: no older page")
        elapsed, page = await self.timed(f"/api/v1/conversations/{cid}/messages",
                                         {"limit": 50, "before": newest["next_before"]})
        if not page["items"]:
            raise AssertionError(f"{cid}: empty older page")
        return elapsed

    def check_page(self, page: Any) -> None:
        """Tenant wall: never a conversation of the other tenant's number."""
        if not page["items"]:
            raise AssertionError("empty list page")
        if any(item["business_phone_number_id"] != NUMBER_ID for item in page["items"]):
            raise AssertionError("a conversation of another tenant was listed")

    def endpoints(self) -> dict[str, Callable[[], Awaitable[float]]]:
        return {"healthz": self.healthz, "list_first_page": self.list_first,
                "list_deeper_page": self.list_deeper, "list_unread": self.list_unread,
                "search_name_prefix": self.search, "search_number_prefix": self.search_number,
                "thread_newest_page": self.thread_newest,
                "thread_older_page": self.thread_older}


async def measure(base: str, key: str, args: argparse.Namespace, seeded: Seeded,
                  phase: str) -> dict[str, Any]:
    rng = random.Random(f"{args.seed}-{phase}")
    results: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=base, timeout=600,
                                 headers={"Authorization": f"Bearer {key}"}) as client:
        load = Load(client, args, seeded, rng)
        for name, request in load.endpoints().items():
            # Warm-up within the same time budget: one request may take seconds on FerretDB.
            deadline = time.monotonic() + args.max_seconds
            for _ in range(args.warmup):
                await request()
                if time.monotonic() > deadline:
                    break
            samples: list[float] = []
            deadline = time.monotonic() + args.max_seconds
            while len(samples) < args.requests and time.monotonic() < deadline:
                samples.append(await request())
            results[name] = summary(samples)
            print(f"  {phase} {name}: {results[name]}", file=sys.stderr, flush=True)
    return results


# ------------------------------------------------------------------------------ the run

def flatness(a: dict[str, Any], b: dict[str, Any]) -> dict[str, float]:
    return {name: round(b[name]["p99_ms"] / a[name]["p99_ms"], 3) for name in a if name in b}


def projection(args: argparse.Namespace, seed_seconds: float,
               phase_a: dict[str, Any]) -> dict[str, Any]:
    """Phase B's cost if seeding and request latency grow linearly with the data (true of
    FerretDB's whole-collection scans; real MongoDB's indexed reads should stay flat)."""
    a_size, b_size = args.conversations_a, args.conversations_b
    factor = b_size / a_size
    per_endpoint = {name: round(r["mean_ms"] * factor, 1) for name, r in phase_a.items()
                    if name != "healthz"}
    seed = seed_seconds * (b_size - a_size) / a_size
    # Each endpoint: warm-up, then timed requests, each until its count or --max-seconds has
    # passed (the request under way finishes).
    measuring = sum(min(count * ms / 1000, args.max_seconds + ms / 1000)
                    for ms in per_endpoint.values() for count in (args.warmup, args.requests))
    return {"growth_factor": round(factor, 2), "seed_seconds": round(seed, 1),
            "request_mean_ms_if_linear": per_endpoint,
            "phase_b_minutes_if_linear": round((seed + measuring) / 60, 1)}


async def run(args: argparse.Namespace, bootstrap: str, mongo_uri: str) -> dict[str, Any]:
    name = f"benchinbox{uuid.uuid4().hex[:8]}"
    client: Any = make_client(_infra(bootstrap, mongo_uri, name), app_name="bench-inbox")
    db = client[name]
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        server = await server_kind(db)
        print(f"database server: {server}", file=sys.stderr, flush=True)
        await ensure_indexes(db, INDEXES)
        other = Seeded()
        await seed(db, OTHER_TENANT, OTHER_NUMBER_ID, 0, args.other_tenant,
                   args.messages_per_conversation, args.seed + 1, args.batch, other, now)
        seeded = Seeded()
        await seed(db, TENANT, NUMBER_ID, 0, args.conversations_a,
                   args.messages_per_conversation, args.seed, args.batch, seeded, now)
        seed_a = seeded.seconds
        print(f"phase A seeded: {seeded.conversations} conversations, {seeded.messages} "
              f"messages in {seed_a:.1f} s", file=sys.stderr, flush=True)
        await create_tenant(db, tenant=OTHER_TENANT, phone_number_id=OTHER_NUMBER_ID,
                            waba_id="102290129349999", agent="other-agent")
        key = await create_tenant(db, tenant=TENANT, phone_number_id=NUMBER_ID,
                                  waba_id="102290129340398", agent=AGENT, name="Bench Agent")
        env = {"MONGODB_URI": mongo_uri, "MONGODB_DATABASE": name,
               "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKA_TOPIC_PREFIX": f"{name}.",
               "KAFKA_TOPIC_PARTITIONS": "1"}
        phases: dict[str, Any] = {}
        with serving(env, free_port()) as base:
            phases["A"] = {"conversations": seeded.conversations, "messages": seeded.messages,
                           "seed_seconds": round(seed_a, 1),
                           "latency": await measure(base, key, args, seeded, "A")}
            grow = args.conversations_b > args.conversations_a
            if grow:
                projected = projection(args, seed_a, phases["A"]["latency"])
                print(f"projection for phase B: {json.dumps(projected)}", file=sys.stderr,
                      flush=True)
                before = seeded.seconds
                await seed(db, TENANT, NUMBER_ID, args.conversations_a, args.conversations_b,
                           args.messages_per_conversation, args.seed + 2, args.batch, seeded,
                           now)
                seed_b = seeded.seconds - before
                print(f"phase B seeded: {seeded.conversations} conversations, "
                      f"{seeded.messages} messages (+{seed_b:.1f} s)", file=sys.stderr,
                      flush=True)
                phases["B"] = {"conversations": seeded.conversations,
                               "messages": seeded.messages, "seed_seconds": round(seed_b, 1),
                               "projected_from_A": projected,
                               "latency": await measure(base, key, args, seeded, "B")}
        result: dict[str, Any] = {
            "benchmark": "inbox_api",
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": server,
            "sizes": {"conversations_a": args.conversations_a,
                      "conversations_b": args.conversations_b,
                      "messages_per_conversation": args.messages_per_conversation,
                      "other_tenant_conversations": other.conversations,
                      "requests_per_endpoint": args.requests, "warmup": args.warmup,
                      "max_seconds_per_endpoint": args.max_seconds,
                      "list_depth": args.list_depth},
            "phases": phases,
            "goal": {"p99_ms": GOAL_P99_MS, "flatness": GOAL_FLATNESS},
        }
        if "B" in phases:
            ratios = flatness(phases["A"]["latency"], phases["B"]["latency"])
            result["flatness_p99_b_over_a"] = ratios
            result["goals_met"] = {
                name: phases["B"]["latency"][name]["p99_ms"] < GOAL_P99_MS
                and ratios[name] <= GOAL_FLATNESS
                for name in ratios if name != "healthz"}
        return result
    finally:
        await client.drop_database(name)
        await client.close()


def _infra(bootstrap: str, mongo_uri: str, name: str) -> InfraSettings:
    return InfraSettings(kafka_bootstrap_servers=bootstrap, mongodb_uri=mongo_uri,
                         mongodb_database=name)


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = arguments(__doc__)
    parser.add_argument("--conversations-a", type=int, default=10_000)
    parser.add_argument("--conversations-b", type=int, default=100_000,
                        help="phase B's size (the same tenant grown); <= phase A skips it")
    parser.add_argument("--messages-per-conversation", type=int, default=10)
    parser.add_argument("--other-tenant", type=int, default=300,
                        help="conversations of a second tenant (tenant filtering is real)")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per endpoint")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--max-seconds", type=float, default=120.0,
                        help="an endpoint's warm-up, then its timed requests, stop after "
                             "this long (the request under way finishes)")
    parser.add_argument("--list-depth", type=int, default=20,
                        help="deepest list page walked via next_cursor before starting over")
    parser.add_argument("--batch", type=int, default=2000,
                        help="conversations per insert_many (their messages in one more)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 500 -> 2,000 conversations, 20 requests or 20 s per "
                             "endpoint (other flags still apply)")
    if parser.parse_args(argv).quick:
        # Smaller defaults; flags given explicitly still win.
        parser.set_defaults(conversations_a=500, conversations_b=2000, requests=20, warmup=2,
                            max_seconds=20.0)
    args = parser.parse_args(argv)
    if args.messages_per_conversation < 4:
        parser.error("--messages-per-conversation must be at least 4 (an older thread page)")
    return args


def main() -> None:
    args = parse_arguments()
    report("inbox_api", on_local_stack(
        lambda stack: run(args, stack.kafka_bootstrap_servers, stack.mongodb_uri)))


if __name__ == "__main__":
    main()
