"""Benchmark: a 100,000-recipient campaign on one number at 1,000 messages/s, with agent replies.

    python -m bench.campaigns [--recipients 100000] [--baseline 20000] [--reply-rate 5]
                              [--reply-customers 5] [--max-seconds 900] [--store-during-campaign]
    python -m bench.campaigns --quick          # 5,000 recipients, 5,000 baseline commands

Processes (each its own, CPU counted from /proc): Kafka and the database (devstack, or
``KAFKA_BOOTSTRAP_SERVERS`` + ``MONGODB_URI``), the WhatsApp sandbox standing in for Meta
(``python -m sandbox``, one business number at 1,000 messages/s, status webhooks OFF: with them
on, 3 statuses per message at ~900 messages/s would measure webhook_ingest and conversation_store
on a 2-core machine, and the send path does not depend on statuses), outbound_sender as deployed
(``python -m services.outbound_sender``, dispatcher included: the campaign dispatcher runs inside
the sender, so the sender process is what a deployment runs), webhook_ingest and
conversation_store (``python -m ...``) for the warm-up, and this script.

Method, one run:
1. Seed: the number's ``channels`` document (throughput 1,000, ``messaging_limit`` null = Meta's
   unlimited tier) and the approved MARKETING template ``spring_sale`` ("Hi {{1}}, ...").
2. Warm-up: ``--reply-customers`` customers write to the number through the sandbox; their
   webhooks are signed and posted to webhook_ingest as Meta would, and conversation_store folds
   them, so their windows are open on both sides (the sandbox's rule and the sender's policy).
   Then webhook_ingest and conversation_store stop (``--store-during-campaign`` keeps the store:
   it then folds every campaign result too, on the same 2 cores).
3. Baseline: ``--baseline`` plain bulk SendTemplate commands published straight to
   inbox.commands.v1 (no dispatcher); the sender drains them at the number's 1,000/s. Figures:
   achieved rate and the sender's CPU per message.
4. Campaign: created and filled through inbox_api's campaign service (the API's own use cases:
   CSV parsing, validation, bulk insert; timed apart as ``setup_seconds``). Before the start
   the dispatcher's read queries are timed alone on it (``dispatcher_queries_ms_before_start``:
   where a release step's database time goes). Then it is started. The
   dispatcher in the sender releases it at 1,000 x OUTBOUND_SENDER_CAMPAIGN_SHARE (0.9) = 900/s
   by design (the rest is kept for agent replies). Meanwhile this script publishes agent replies
   (SendText, priority ``reply``) at ``--reply-rate``/s to the warm-up conversations, as
   inbox_api does, and times each from its publication to the sandbox's receipt of it.
5. Figures, from the sandbox's received log: campaign messages accepted vs recipients,
   duplicates (requests accepted more than once for one recipient; goal 0), achieved rate over
   the run (first to last request) and in the steady part (the first second left out), the
   spread of per-second counts, the pacing error against the configured campaign rate (900/s)
   and against the number's 1,000/s; agent-reply latency p50/p99/max (goal p99 < 1 s); CPU
   seconds per process over the campaign (sender, sandbox, database server, Kafka, this
   script) and the sender's CPU per message (campaign messages and replies) against the
   baseline's (``overhead_ratio``: the dispatcher's cost on top of sending, idle time included,
   so an upper bound when the campaign runs slowly); the load average before and after (the
   machine may be shared). ``--max-seconds`` bounds the campaign: past it the campaign is
   cancelled and the figures say how far it got.
Printed as JSON and written to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from statistics import pstdev
from typing import Any

import httpx
import orjson
from pydantic import SecretStr

from devstack.bench import (
    REPO,
    arguments,
    cpu_seconds,
    load_average,
    on_local_stack,
    percentile,
    report,
    stop,
)
from devstack.process import free_port
from devstack.stack import RunningStack
from services.inbox_api.accounts.credentials import Identity
from services.inbox_api.campaigns.repository import CampaignRepository
from services.inbox_api.campaigns.service import CampaignService
from services.outbound_sender.adapters.campaign_mongo import MongoCampaignStore
from shared.callback_data import decode
from shared.campaigns import (
    CAMPAIGN_RECIPIENTS_COLLECTION,
    CAMPAIGNS_COLLECTION,
    FINAL_STATES,
    QUEUED,
)
from shared.channels import CHANNELS_COLLECTION, Channel
from shared.config import InfraSettings
from shared.events import SendTemplate, SendText, TemplateComponent
from shared.events.topics import ALL_TOPICS, DLQ_TOPICS, INBOX_COMMANDS
from shared.kafka import ensure_topics, make_producer
from shared.mongo import make_client
from shared.phone import conversation_id
from shared.templates import TEMPLATES_COLLECTION, template_doc_id

APP_SECRET = "bench-campaigns-secret"
TEMPLATE, LANGUAGE = "spring_sale", "en_US"  # MARKETING in the sandbox's demo catalog
BODY_TEXT = "Hi {{1}}, our spring sale starts today."
CHANNEL = Channel(phone_number_id="100000000000091", display_phone_number="15550009191",
                  waba_id="200000000000091", tenant_id="bench",
                  access_token=SecretStr("bench-token"), throughput_mps=1000,
                  messaging_limit=None)
# Valid German mobile numbers, one range per kind of customer.
CAMPAIGN_BASE, BASELINE_BASE, REPLY_BASE = 4915100000000, 4915200000000, 4915300000000
REPLY_GOAL_P99_SECONDS = 1.0
# The sender's setting (default 0.9): the campaign's target is this share of the number's rate.
CAMPAIGN_SHARE = float(os.environ.get("OUTBOUND_SENDER_CAMPAIGN_SHARE", "0.9"))


class Child:
    """A service in its own process (``python -m module``) with this run's infrastructure."""

    def __init__(self, name: str, module: str, env: dict[str, str]) -> None:
        self.name = name
        # Logs to a file (WARNING and up): a pipe nobody reads would block the child when full.
        self.log_path = Path(tempfile.gettempdir()) / f"bench-campaigns-{name}-{os.getpid()}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", module], cwd=REPO, env={**os.environ, **env},
                stdout=log, stderr=subprocess.STDOUT)
        self.cpu_at_exit: float | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu(self) -> float:
        return self.cpu_at_exit if self.cpu_at_exit is not None else cpu_seconds(self.pid)

    def check(self) -> None:
        if self.process.poll() is not None and self.cpu_at_exit is None:
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{self.name} exited ({self.process.returncode}): {tail}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.cpu_at_exit = cpu_seconds(self.pid)
            stop(self.process)


async def wait_ok(http: httpx.AsyncClient, url: str, child: Child, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        child.check()
        try:
            if (await http.get(url)).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{child.name} did not become ready at {url}")


class Run:
    """This run's infrastructure names, clients and child processes."""

    def __init__(self, stack: Any, args: argparse.Namespace) -> None:
        self.stack, self.args = stack, args
        name = f"benchcamp{uuid.uuid4().hex[:8]}"
        self.name = name
        self.settings = InfraSettings(
            kafka_bootstrap_servers=stack.kafka_bootstrap_servers,
            mongodb_uri=stack.mongodb_uri, mongodb_database=name, topic_prefix=f"{name}.",
            topic_partitions=6)
        self.client = make_client(self.settings)
        self.db = self.client[name]
        self.producer = make_producer(self.settings, linger_ms=5)
        self.http = httpx.AsyncClient(timeout=120)
        self.children: dict[str, Child] = {}
        self.sandbox_url = ""
        self.ingest_url = ""
        self.store_group = f"{name}-store"

    def infra_env(self) -> dict[str, str]:
        return {"KAFKA_BOOTSTRAP_SERVERS": self.settings.kafka_bootstrap_servers,
                "MONGODB_URI": self.settings.mongodb_uri,
                "MONGODB_DATABASE": self.settings.mongodb_database,
                "KAFKA_TOPIC_PREFIX": self.settings.topic_prefix, "LOG_LEVEL": "WARNING"}

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of every process of the run (the database and Kafka too when
        devstack started them here)."""
        out = {name: child.cpu() for name, child in self.children.items()}
        for name in ("mongo", "kafka"):
            server = getattr(self.stack, name, None)
            process = getattr(server, "process", None)
            if process is not None:
                out["database" if name == "mongo" else "kafka"] = cpu_seconds(process.pid)
        times = os.times()
        out["bench_script"] = times.user + times.system
        return out

    async def start(self) -> None:
        await ensure_topics(self.settings, [*ALL_TOPICS, *DLQ_TOPICS])
        await self.db[CHANNELS_COLLECTION].insert_one(CHANNEL.to_document())
        await self.db[TEMPLATES_COLLECTION].insert_one({
            "_id": template_doc_id(CHANNEL.waba_id, TEMPLATE, LANGUAGE),
            "tenant_id": CHANNEL.tenant_id, "waba_id": CHANNEL.waba_id, "name": TEMPLATE,
            "language": LANGUAGE, "status": "APPROVED", "category": "MARKETING",
            "components": [{"type": "BODY", "text": BODY_TEXT}]})
        await CampaignRepository(self.db).ensure_indexes()
        await self.producer.start()
        sandbox_port, ingest_port = free_port(), free_port()
        self.sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        self.ingest_url = f"http://127.0.0.1:{ingest_port}"
        self.children["sandbox"] = Child("sandbox", "sandbox", {
            "SANDBOX_PORT": str(sandbox_port), "SANDBOX_HOST": "127.0.0.1",
            "SANDBOX_WEBHOOK_URL": "", "SANDBOX_APP_SECRET": APP_SECRET,
            "SANDBOX_RECEIVED_LIMIT": "1000000",
            "SANDBOX_CHANNELS": json.dumps([CHANNEL.to_document()]), "LOG_LEVEL": "WARNING"})
        infra = self.infra_env()
        self.children["webhook_ingest"] = Child("webhook_ingest", "services.webhook_ingest", {
            **infra, "WEBHOOK_INGEST_APP_SECRETS": APP_SECRET,
            "WEBHOOK_INGEST_VERIFY_TOKEN": "bench", "WEBHOOK_INGEST_HOST": "127.0.0.1",
            "WEBHOOK_INGEST_PORT": str(ingest_port)})
        store_port = free_port()
        self.children["conversation_store"] = Child(
            "conversation_store", "services.conversation_store", {
                **infra, "CONVERSATION_STORE_PORT": str(store_port),
                "CONVERSATION_STORE_GROUP_ID": self.store_group})
        sender_port = free_port()
        self.children["outbound_sender"] = Child("outbound_sender", "services.outbound_sender", {
            **infra, "OUTBOUND_SENDER_PORT": str(sender_port),
            "OUTBOUND_SENDER_GROUP_ID": f"{self.name}-sender",
            "OUTBOUND_SENDER_INSTANCE_ID": "bench-sender",
            "OUTBOUND_SENDER_STORE_GROUP_ID": self.store_group,
            "OUTBOUND_SENDER_CLOUD_API_BASE_URL": f"{self.sandbox_url}/v25.0"})
        await wait_ok(self.http, f"{self.sandbox_url}/_sandbox/stats", self.children["sandbox"])
        await wait_ok(self.http, f"{self.ingest_url}/readyz", self.children["webhook_ingest"])
        await wait_ok(self.http, f"http://127.0.0.1:{store_port}/readyz",
                      self.children["conversation_store"])
        await wait_ok(self.http, f"http://127.0.0.1:{sender_port}/readyz",
                      self.children["outbound_sender"])

    async def close(self) -> None:
        for child in self.children.values():
            child.stop()
        await self.producer.stop()
        await self.http.aclose()
        await self.client.drop_database(self.name)
        await self.client.close()

    # -- the sandbox -------------------------------------------------------------------------

    async def accepted(self) -> int:
        stats = (await self.http.get(f"{self.sandbox_url}/_sandbox/stats")).json()
        return int(stats["accepted_by_number"].get(CHANNEL.phone_number_id, 0))

    async def received(self, after_seq: int = 0) -> list[dict[str, Any]]:
        answer = await self.http.get(f"{self.sandbox_url}/_sandbox/received",
                                     params={"after_seq": after_seq}, timeout=300)
        items: list[dict[str, Any]] = orjson.loads(answer.content)["items"]
        return items

    async def customer_writes(self, wa_id: str) -> None:
        """The customer writes through the sandbox (its window opens there); the webhook is
        signed and posted to webhook_ingest as Meta would (the sandbox's own posting is off)."""
        answer = await self.http.post(f"{self.sandbox_url}/_sandbox/customer-messages", json={
            "phone_number_id": CHANNEL.phone_number_id, "from": wa_id, "type": "text",
            "content": {"body": "Hi, is my order on its way?"}, "name": "Bench Customer"})
        answer.raise_for_status()
        raw = orjson.dumps(answer.json()["payload"])
        signature = hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        posted = await self.http.post(f"{self.ingest_url}/webhook", content=raw, headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={signature}"})
        posted.raise_for_status()


async def warm_up(run: Run, customers: list[str]) -> float:
    started = time.monotonic()
    for wa_id in customers:
        await run.customer_writes(wa_id)
    ids = [conversation_id(CHANNEL.phone_number_id, w) for w in customers]
    deadline = time.monotonic() + 60
    while await run.db["conversations"].count_documents(
            {"_id": {"$in": ids}, "last_inbound_at": {"$ne": None}}) < len(ids):
        if time.monotonic() > deadline:
            raise RuntimeError("the warm-up customers' messages never reached the store")
        await asyncio.sleep(0.2)
    run.children["webhook_ingest"].stop()
    if not run.args.store_during_campaign:
        run.children["conversation_store"].stop()
    return time.monotonic() - started


def reference_of(item: dict[str, Any]) -> str | None:
    """The command's reference in a request the sandbox received (Meta's callback data field)."""
    body = item["body"]
    if not isinstance(body, dict):
        return None
    return decode(body.get("biz_opaque_callback_data")).reference


def bulk_command(n: int, tag: str) -> SendTemplate:
    customer = str(BASELINE_BASE + n)
    command_id = f"{tag}-{n}"
    return SendTemplate(
        occurred_at=datetime.now(UTC), tenant_id=CHANNEL.tenant_id,
        conversation_id=conversation_id(CHANNEL.phone_number_id, customer),
        command_id=command_id, business_phone_number_id=CHANNEL.phone_number_id,
        customer_wa_id=customer, template_name=TEMPLATE, language=LANGUAGE, priority="bulk",
        components=[TemplateComponent(type="body", parameters=[
            {"type": "text", "text": f"Customer {n}"}])],
        rendered_text=f"Hi Customer {n}, our spring sale starts today.", reference=command_id)


def rate_figures(times: list[float], target: float, number_mps: float) -> dict[str, Any]:
    """Achieved rate from request times: over the whole run, and in the steady part (the first
    second, when queues fill, left out); per-second counts over the full seconds in between."""
    if len(times) < 3:
        return {"requests": len(times)}
    times = sorted(times)
    span = times[-1] - times[0]
    steady = [t for t in times if t >= times[0] + 1.0]
    steady_rate = ((len(steady) - 1) / (steady[-1] - steady[0])
                   if len(steady) > 2 and steady[-1] > steady[0] else None)
    per_second = Counter(int(t - times[0]) for t in times)
    full = [per_second[s] for s in range(1, int(span))]  # whole seconds, ends left out
    out: dict[str, Any] = {
        "requests": len(times),
        "seconds": round(span, 2),
        "achieved_per_second": round((len(times) - 1) / span, 1) if span else None,
        "steady_per_second": round(steady_rate, 1) if steady_rate else None,
        "target_per_second": target,
        "pacing_error_vs_target": round(abs(steady_rate - target) / target, 4)
        if steady_rate else None,
        "pacing_error_vs_number_1000": round(abs(steady_rate - number_mps) / number_mps, 4)
        if steady_rate else None,
    }
    if full:
        ordered = sorted(full)
        out.update({"per_second_min": ordered[0], "per_second_p5": percentile(ordered, 0.05),
                    "per_second_median": percentile(ordered, 0.5),
                    "per_second_p95": percentile(ordered, 0.95),
                    "per_second_max": ordered[-1],
                    "per_second_stdev": round(pstdev(ordered), 1)})
    return out


async def baseline(run: Run, count: int) -> dict[str, Any]:
    """Plain bulk commands published straight to the topic: the sender alone, no dispatcher."""
    topic = run.settings.topic(INBOX_COMMANDS)
    tag = f"base-{uuid.uuid4().hex[:6]}"
    commands = [bulk_command(n, tag) for n in range(count)]
    before_accepted = await run.accepted()
    cpu0, started = run.cpu(), time.monotonic()
    for start in range(0, count, 2000):
        futures = [await run.producer.send(topic, c.to_bytes(), key=c.record_key())
                   for c in commands[start:start + 2000]]
        await asyncio.gather(*futures)
    deadline = started + count / 100 + 120
    while await run.accepted() < before_accepted + count:
        run.children["outbound_sender"].check()
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    elapsed, cpu1 = time.monotonic() - started, run.cpu()
    items = [i for i in await run.received() if (reference_of(i) or "").startswith(tag)]
    accepted = [i for i in items if i["wamid"]]
    sender_cpu = cpu1["outbound_sender"] - cpu0["outbound_sender"]
    per_reference = Counter(reference_of(i) for i in accepted)
    return {
        "commands": count,
        "accepted": len(per_reference),
        "duplicates": sum(n - 1 for n in per_reference.values() if n > 1),
        "refused": dict(Counter(str(i["error_code"]) for i in items if not i["wamid"])),
        "seconds_to_drain": round(elapsed, 2),
        **rate_figures([datetime.fromisoformat(i["at"]).timestamp() for i in accepted],
                       CHANNEL.throughput_mps, CHANNEL.throughput_mps),
        "sender_cpu_seconds": round(sender_cpu, 2),
        "sender_cpu_ms_per_message": round(sender_cpu / max(1, len(accepted)) * 1000, 3),
        "cpu_seconds": {k: round(cpu1[k] - cpu0.get(k, 0.0), 2) for k in cpu1},
    }


def campaign_csv(count: int) -> str:
    lines = ["phone,1"] + [f"+{CAMPAIGN_BASE + i},Customer {i}" for i in range(count)]
    return "\n".join(lines) + "\n"


class Replies:
    """Agent replies published as inbox_api does (SendText, priority reply) at a steady rate
    to conversations whose window is open."""

    def __init__(self, run: Run, customers: list[str], rate: float) -> None:
        self.run, self.customers, self.rate = run, customers, rate
        self.published: dict[str, float] = {}  # command id (= reference) -> wall time
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._publish())

    async def _publish(self) -> None:
        topic = self.run.settings.topic(INBOX_COMMANDS)
        started, n = time.monotonic(), 0
        while True:
            if (wait := started + n / self.rate - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            customer = self.customers[n % len(self.customers)]
            command_id = str(uuid.uuid4())
            now = datetime.now(UTC)
            command = SendText(
                occurred_at=now, tenant_id=CHANNEL.tenant_id,
                conversation_id=conversation_id(CHANNEL.phone_number_id, customer),
                command_id=command_id, actor_id="bench-agent",
                business_phone_number_id=CHANNEL.phone_number_id, customer_wa_id=customer,
                text=f"Reply {n}: yes, it ships today.", reference=command_id)
            self.published[command_id] = now.timestamp()
            # Sent as inbox_api does: one record, flushed at once (an agent waits on it).
            await (await self.run.producer.send(topic, command.to_bytes(),
                                                key=command.record_key()))
            n += 1

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def figures(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        latencies: list[float] = []
        refused: Counter[str] = Counter()
        seen: set[str] = set()
        for item in items:
            ref = reference_of(item)
            if ref not in self.published:
                continue
            if not item["wamid"]:
                refused[str(item["error_code"])] += 1
                continue
            if ref in seen:
                continue
            seen.add(ref)
            latencies.append(datetime.fromisoformat(item["at"]).timestamp() -
                             self.published[ref])
        out: dict[str, Any] = {"published": len(self.published), "accepted": len(latencies),
                               "refused": dict(refused)}
        if latencies:
            out.update({"latency_p50_seconds": round(percentile(latencies, 0.5), 4),
                        "latency_p99_seconds": round(percentile(latencies, 0.99), 4),
                        "latency_max_seconds": round(max(latencies), 4),
                        "within_1s_share": round(sum(1 for x in latencies if x < 1.0)
                                                 / len(latencies), 4)})
        return out


async def probe_store(run: Run, cid: str) -> dict[str, float]:
    """The dispatcher's read queries, each timed alone (median of 3) on the filled campaign
    before it starts: where a batch's database time goes, without writing anything."""
    store = MongoCampaignStore(run.db)
    batch = await store.at_positions(cid, 1, 500)
    wa_ids = [r["wa_id"] for r in batch]
    ids = [r["_id"] for r in batch]
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "at_positions_500": lambda: store.at_positions(cid, 1, 500),
        "released_in_window": lambda: store.released_in_window(CHANNEL.phone_number_id,
                                                               datetime.now(UTC)),
        "opted_out_500": lambda: store.opted_out(CHANNEL.tenant_id, CHANNEL.phone_number_id,
                                                 wa_ids),
        # The filter of the release's update_many (``mark``), run as a find, and without its
        # state condition: does the database still use the _id lookup with the extra term?
        "mark_filter_ids_and_state_500": lambda: run.db[CAMPAIGN_RECIPIENTS_COLLECTION].find(
            {"_id": {"$in": ids}, "state": QUEUED}).to_list(None),
        "ids_only_500": lambda: run.db[CAMPAIGN_RECIPIENTS_COLLECTION].find(
            {"_id": {"$in": ids}}).to_list(None),
        "campaign_by_id": lambda: run.db[CAMPAIGNS_COLLECTION].find_one({"_id": cid}),
        "template_by_id": lambda: store.template(CHANNEL.waba_id, TEMPLATE, LANGUAGE),
    }
    out: dict[str, float] = {}
    for name, call in calls.items():
        times = []
        for _ in range(3):
            started = time.monotonic()
            await call()
            times.append(time.monotonic() - started)
        out[name] = round(sorted(times)[1] * 1000, 1)
    return out


async def campaign(run: Run, count: int, customers: list[str]) -> dict[str, Any]:
    who = Identity(tenant_id=CHANNEL.tenant_id, agent_id="bench-agent", display_name="Bench",
                   kind="agent", key_hash="")
    service = CampaignService(CampaignRepository(run.db), lambda: datetime.now(UTC))
    seq0 = max([0, *(i["seq"] for i in await run.received())])
    accepted0 = await run.accepted()

    setup_started = time.monotonic()
    doc, _, _ = await service.create(who, {
        "name": "Bench sale", "business_phone_number_id": CHANNEL.phone_number_id,
        "template_name": TEMPLATE, "language": LANGUAGE}, None, None)
    cid = doc["_id"]
    csv_text = campaign_csv(count)
    audience, doc = await service.add_recipients(who, cid, None, csv_text)
    setup_seconds = time.monotonic() - setup_started
    if len(audience.recipients) != count:
        raise RuntimeError(f"only {len(audience.recipients)} of {count} recipients stored")

    probe = await probe_store(run, cid)
    replies = Replies(run, customers, run.args.reply_rate)
    load_before = load_average()
    cpu0, started = run.cpu(), time.monotonic()
    await service.act(who, cid, "start")
    replies.start()
    progress: list[dict[str, Any]] = []
    cancelled, cancel_call = False, 0.0
    while True:
        await asyncio.sleep(1.0)
        run.children["outbound_sender"].check()
        doc = await run.db[CAMPAIGNS_COLLECTION].find_one({"_id": cid}) or {}
        accepted = await run.accepted() - accepted0
        elapsed = time.monotonic() - started
        progress.append({"t": round(elapsed, 1), "released": doc["counters"]["released"],
                         "accepted": accepted, "load": round(os.getloadavg()[0], 2)})
        print(json.dumps(progress[-1]), file=sys.stderr, flush=True)
        if doc.get("state") in FINAL_STATES:
            # Everything released; wait until the sandbox has what was released.
            if accepted - len(replies.published) >= doc["counters"]["released"] or \
                    elapsed > run.args.max_seconds + 60:
                break
        elif elapsed > run.args.max_seconds and not cancelled:
            cancel_started = time.monotonic()
            await service.act(who, cid, "cancel")
            cancel_call = time.monotonic() - cancel_started
            cancelled = True
    elapsed, cpu1 = time.monotonic() - started, run.cpu()
    cancel_figures: dict[str, Any] = {}
    if cancelled:
        # The queued recipients become not_sent in the background after the answer.
        settle_started = time.monotonic()
        await service.settled()
        doc = await run.db[CAMPAIGNS_COLLECTION].find_one({"_id": cid}) or doc
        cancel_figures = {"cancel_call_seconds": round(cancel_call, 3),
                          "cancel_background_seconds_after_loop": round(
                              time.monotonic() - settle_started, 2)}
    await replies.stop()
    await asyncio.sleep(3.0)  # the last replies' round trip
    load_after = load_average()
    items = await run.received(seq0)

    reference = f"campaign:{cid}"
    sends = [i for i in items if reference_of(i) == reference]
    ok = [i for i in sends if i["wamid"]]
    per_recipient = Counter(str(i["body"]["to"]).lstrip("+") for i in ok)
    expected = {str(CAMPAIGN_BASE + i) for i in range(count)}
    sender_cpu = cpu1["outbound_sender"] - cpu0["outbound_sender"]
    reply_figures = replies.figures(items)
    cpu = {k: round(cpu1[k] - cpu0.get(k, 0.0), 2) for k in cpu1}
    return {
        "recipients": count,
        "setup_seconds": round(setup_seconds, 2),
        "dispatcher_queries_ms_before_start": probe,
        "state": doc.get("state"),
        "cancelled_at_max_seconds": cancelled,
        **cancel_figures,
        "counters": doc.get("counters"),
        "recipients_sent": len(per_recipient),
        "recipients_missing": len(expected - set(per_recipient)),
        "unexpected_recipients": len(set(per_recipient) - expected),
        "duplicates": sum(n - 1 for n in per_recipient.values() if n > 1),
        "refused": dict(Counter(str(i["error_code"]) for i in sends if not i["wamid"])),
        "seconds_start_to_last_accepted": round(elapsed, 2),
        **rate_figures([datetime.fromisoformat(i["at"]).timestamp() for i in ok],
                       round(CHANNEL.throughput_mps * CAMPAIGN_SHARE, 1),
                       CHANNEL.throughput_mps),
        "agent_replies": reply_figures,
        "cpu_seconds": cpu,
        "cpu_share_of_one_core": {k: round(v / elapsed, 3) for k, v in cpu.items()},
        # Campaign messages and agent replies alike; it includes the sender's idle cost
        # (polls, the dispatcher's waits), which dominates when the campaign runs slowly.
        "sender_cpu_ms_per_message": round(
            sender_cpu / max(1, len(ok) + reply_figures["accepted"]) * 1000, 3),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "progress_every_second": progress,
    }


async def bench(args: argparse.Namespace, stack: RunningStack) -> dict[str, Any]:
    results: dict[str, Any] = {"recipients": args.recipients, "baseline_commands": args.baseline,
                               "reply_rate": args.reply_rate, "cpu_count": os.cpu_count(),
                               "load_average_at_start": load_average(),
                               "statuses": "off (SANDBOX_WEBHOOK_URL empty)",
                               "store_during_campaign": args.store_during_campaign}
    results["infrastructure"] = stack.mode
    run = Run(stack, args)
    try:
        await run.start()
        customers = [str(REPLY_BASE + i) for i in range(args.reply_customers)]
        results["warm_up_seconds"] = round(await warm_up(run, customers), 2)
        results["baseline"] = await baseline(run, args.baseline)
        results["campaign"] = await campaign(run, args.recipients, customers)
    finally:
        await run.close()
    base, camp = results["baseline"], results["campaign"]
    if base.get("sender_cpu_ms_per_message") and camp.get("sender_cpu_ms_per_message"):
        # The dispatcher's cost: the sender's CPU per campaign message over a plain message's.
        results["overhead_ratio_sender_cpu_per_message"] = round(
            camp["sender_cpu_ms_per_message"] / base["sender_cpu_ms_per_message"], 3)
    if base.get("steady_per_second") and camp.get("steady_per_second"):
        results["campaign_rate_over_baseline_rate"] = round(
            camp["steady_per_second"] / base["steady_per_second"], 3)
    replies = camp["agent_replies"]
    results["goals"] = {
        "no_duplicates": camp["duplicates"] == 0 and base["duplicates"] == 0,
        "every_recipient_sent_once": camp["recipients_sent"] == args.recipients
        and camp["recipients_missing"] == 0,
        "campaign_pacing_error_under_5pct": (camp.get("pacing_error_vs_target")
                                                    or 1.0) < 0.05,
        "agent_reply_p99_under_1s": (replies.get("latency_p99_seconds") or 99.0)
        < REPLY_GOAL_P99_SECONDS and not replies["refused"],
    }
    return results


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=20_000,
                        help="plain bulk commands for the sender-only baseline")
    parser.add_argument("--reply-rate", type=float, default=5.0, help="agent replies per second")
    parser.add_argument("--reply-customers", type=int, default=5,
                        help="conversations (window open) the agent replies go to")
    parser.add_argument("--max-seconds", type=float, default=900.0,
                        help="cancel the campaign after this long and report how far it got")
    parser.add_argument("--store-during-campaign", action="store_true",
                        help="keep conversation_store running (it folds every result too)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 5,000 recipients, 5,000 baseline commands")
    args = parser.parse_args()
    if args.quick:
        args.recipients, args.baseline = 5_000, 5_000
    results = on_local_stack(lambda stack: bench(args, stack))
    results["at"] = datetime.now(UTC).isoformat()
    report("campaigns", results)


if __name__ == "__main__":
    main()
