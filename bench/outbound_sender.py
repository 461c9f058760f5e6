"""Benchmark: outbound_sender's pacing at Meta's rates, fairness across numbers, and duplicates.

    python -m bench.outbound_sender [--seconds 10] [--numbers 50] [--within-mps 16]
                                    [--replicas 1] [--skip-fifty]

(``BENCH_PROFILE=/tmp/sender.prof`` runs each sender under cProfile, one file per replica.)

Processes: Kafka and the database (devstack), the WhatsApp sandbox standing in for Meta
(``python -m sandbox``, status webhooks off), the sender as deployed (``python -m
services.outbound_sender``), and this script, which publishes the commands and reads the results.
The sandbox enforces each number's throughput with Meta's 130429, so a sender that paces too fast
is caught by Meta's rule, not by this script.

Scenarios (figures are ratios or counts measured in this run, never absolute goals on timing):
1. ``one_number_saturated``: a backlog of bulk templates for ONE number configured at 1,000
   messages/s. Achieved rate over the run, pacing error |achieved - 1000| / 1000 (goal < 5 %),
   the spread of per-second counts, 130429 answers (goal 0).
2. ``one_number_open_loop``: commands published at 80 % of 1,000/s as they come; p50/p99 from a
   command's publication to its acceptance by the Cloud API.
3. ``fifty_numbers``: a backlog for 50 numbers at 80/s each (4,000/s in all); the achieved rate
   per number, Jain's fairness index over them (1.0 = perfectly even), the slowest/fastest ratio.
   One process carries about 1,000 messages/s per CPU core (``sender_commands_per_cpu_second``),
   so here the total is bounded by CPU rather than by Meta's limits: every number then gets an
   equal share, which is what "fair" means under overload.
4. ``fifty_numbers_within_capacity``: the same with 50 numbers at ``--within-mps`` (16/s, 800/s
   in all): each number's own pacing error, when the process is not the bottleneck.
Every scenario counts duplicates: requests the sandbox accepted twice for one command (goal 0).
Printed as JSON and written to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from statistics import median, pstdev
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer
from pydantic import SecretStr

from devstack.bench import (
    REPO,
    arguments,
    cpu_seconds,
    on_local_stack,
    percentile,
    report,
    stop,
)
from devstack.process import free_port
from devstack.stack import RunningStack
from shared.channels import CHANNELS_COLLECTION, Channel
from shared.config import InfraSettings
from shared.events import SendTemplate
from shared.events.topics import ALL_TOPICS, DLQ_TOPICS, INBOX_COMMANDS, INBOX_OUTBOUND
from shared.kafka import ensure_topics, make_producer
from shared.mongo import make_client
from shared.templates import TEMPLATES_COLLECTION, template_doc_id

TEMPLATE = "hello_world"  # approved in the sandbox's demo catalog, no variables


def channel(i: int, mps: int) -> Channel:
    return Channel(phone_number_id=f"1000000000{i:05d}", display_phone_number=f"1555{i:07d}",
                   waba_id=f"2000000000{i:05d}", tenant_id=f"tenant-{i}",
                   access_token=SecretStr(f"token-{i}"), throughput_mps=mps)


def command(ch: Channel, n: int, run: str) -> SendTemplate:
    customer = f"1650{n % 10_000_000:07d}"
    command_id = f"{run}-{ch.phone_number_id}-{n}"
    return SendTemplate(occurred_at=datetime.now(UTC), tenant_id=ch.tenant_id,
                        conversation_id=f"{ch.phone_number_id}:{customer}",
                        command_id=command_id, business_phone_number_id=ch.phone_number_id,
                        customer_wa_id=customer, template_name=TEMPLATE, language="en_US",
                        priority="bulk", campaign_id=run, reference=command_id)


class Sandbox:
    """``python -m sandbox`` in its own process, with the bench's numbers."""

    def __init__(self, channels: list[Channel]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "SANDBOX_PORT": str(self.port), "SANDBOX_HOST": "127.0.0.1",
               "SANDBOX_WEBHOOK_URL": "", "SANDBOX_RECEIVED_LIMIT": "500000",
               "SANDBOX_CHANNELS": json.dumps([c.to_document() for c in channels]),
               "LOG_LEVEL": "WARNING"}
        self.process = subprocess.Popen([sys.executable, "-m", "sandbox"], cwd=REPO, env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    async def wait_ready(self, http: httpx.AsyncClient) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the sandbox exited at start")
            try:
                if (await http.get(f"{self.url}/_sandbox/stats")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        raise RuntimeError("the sandbox did not start")

    async def received(self, http: httpx.AsyncClient, after_seq: int) -> list[dict[str, Any]]:
        response = await http.get(f"{self.url}/_sandbox/received",
                                  params={"after_seq": after_seq}, timeout=120)
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    def stop(self) -> None:
        stop(self.process, timeout=10)


class Outcomes:
    """Reads inbox.outbound.v1 as the run goes: acceptance time per command id."""

    def __init__(self, settings: InfraSettings) -> None:
        self.consumer = AIOKafkaConsumer(
            settings.topic(INBOX_OUTBOUND), bootstrap_servers=settings.kafka_bootstrap_servers,
            auto_offset_reset="earliest", enable_auto_commit=False)
        self.accepted: dict[str, datetime] = {}
        self.other: Counter[str] = Counter()
        self.examples: dict[str, str] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            batch = await self.consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for record in records:
                    # Plain JSON, not the pydantic contract: this process shares the CPU.
                    event = orjson.loads(record.value)
                    if event["type"] == "outbound.accepted":
                        self.accepted.setdefault(event["command_id"],
                                                 datetime.fromisoformat(event["accepted_at"]))
                    else:
                        self.other[event["type"]] += 1
                        self.examples.setdefault(event["type"], event.get("detail") or str(
                            event.get("error")))

    async def wait_for(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.accepted) + sum(self.other.values()) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(self.accepted)} of {count} accepted in time")
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self.consumer.stop()


def pacing(items: list[dict[str, Any]], number: str, target: float) -> dict[str, Any]:
    """Achieved rate of one number from the sandbox's request times (the first second, when
    the bucket's saved burst goes out, and the drain at the end are left out)."""
    times = sorted(datetime.fromisoformat(i["at"]).timestamp() for i in items
                   if i["phone_number_id"] == number and i["wamid"])
    if len(times) < 3:
        return {"accepted": len(times)}
    start, end = times[0] + 1.0, times[-1]
    window = [t for t in times if start <= t <= end]
    rate = (len(window) - 1) / (window[-1] - window[0]) if len(window) > 2 else 0.0
    per_second = Counter(int(t - times[0]) for t in times)
    full = [per_second[s] for s in range(1, int(times[-1] - times[0]))]
    return {
        "accepted": len(times),
        "achieved_per_second": round(rate, 1),
        "pacing_error": round(abs(rate - target) / target, 4),
        "per_second_min": min(full) if full else None,
        "per_second_max": max(full) if full else None,
    }


def duplicates(items: list[dict[str, Any]]) -> int:
    sent = Counter(i["body"].get("biz_opaque_callback_data") for i in items
                   if i["wamid"] and isinstance(i["body"], dict))
    return sum(n - 1 for n in sent.values() if n > 1)


async def publish_backlog(producer: Any, topic: str, commands: list[SendTemplate]) -> None:
    for start in range(0, len(commands), 2000):
        futures = [await producer.send(topic, c.to_bytes(), key=c.record_key())
                   for c in commands[start:start + 2000]]
        await asyncio.gather(*futures)


async def saturated(ctx: Context, channels: list[Channel], seconds: float, name: str
                    ) -> dict[str, Any]:
    """A backlog of ``seconds`` worth of each number's throughput, drained by the sender."""
    run = f"{name}-{uuid.uuid4().hex[:6]}"
    per_number = {c.phone_number_id: int(c.throughput_mps * seconds) for c in channels}
    commands = [command(c, n, run) for n in range(max(per_number.values())) for c in channels
                if n < per_number[c.phone_number_id]]
    seq = ctx.seq
    await publish_backlog(ctx.producer, ctx.settings.topic(INBOX_COMMANDS), commands)
    started, cpu = time.monotonic(), ctx.sender_cpu()
    await ctx.outcomes.wait_for(ctx.expected + len(commands), timeout=seconds * 20 + 60)
    elapsed, cpu = time.monotonic() - started, ctx.sender_cpu() - cpu
    ctx.expected += len(commands)
    items = await ctx.sandbox.received(ctx.http, seq)
    ctx.seq = max([seq, *(i["seq"] for i in items)])
    rates = {c.phone_number_id: pacing(items, c.phone_number_id, c.throughput_mps)
             for c in channels}
    achieved = [r.get("achieved_per_second", 0.0) for r in rates.values()]
    result: dict[str, Any] = {
        "commands": len(commands),
        "seconds_to_drain": round(elapsed, 2),
        # The sender's own CPU per command, and the rate one core would carry at that cost.
        "sender_cpu_ms_per_command": round(cpu / len(commands) * 1000, 3),
        "sender_commands_per_cpu_second": round(len(commands) / cpu) if cpu else None,
        "not_accepted": dict(ctx.outcomes.other),
        "rate_limited_130429": sum(1 for i in items if i["error_code"] == 130429),
        "errors": sum(1 for i in items if not i["wamid"]),
        "duplicates": duplicates(items),
    }
    if len(channels) == 1:
        result.update(rates[channels[0].phone_number_id])
    else:
        total = sum(achieved)
        result.update({
            "numbers": len(channels),
            "target_per_number": channels[0].throughput_mps,
            "achieved_total_per_second": round(total, 1),
            "achieved_per_number": {n: r.get("achieved_per_second") for n, r in rates.items()},
            "per_number_median": round(median(achieved), 1),
            "per_number_min": round(min(achieved), 1),
            "per_number_max": round(max(achieved), 1),
            "per_number_stdev": round(pstdev(achieved), 2),
            "slowest_to_fastest": round(min(achieved) / max(achieved), 3) if max(achieved) else 0,
            "jain_fairness": round(total ** 2 / (len(achieved) * sum(a * a for a in achieved)),
                                   4) if total else 0,
            "pacing_error_worst": max(r.get("pacing_error", 1.0) for r in rates.values()),
        })
    return result


async def open_loop(ctx: Context, ch: Channel, rate: float, seconds: float) -> dict[str, Any]:
    """Commands published at ``rate``/s as they come: command-to-accepted latency."""
    run = f"open-{uuid.uuid4().hex[:6]}"
    topic = ctx.settings.topic(INBOX_COMMANDS)
    published: dict[str, datetime] = {}
    total = int(rate * seconds)
    seq = ctx.seq
    other_before = Counter(ctx.outcomes.other)
    started = time.monotonic()
    for n in range(total):
        due = started + n / rate
        if (wait := due - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        cmd = command(ch, n, run)
        published[cmd.command_id] = cmd.occurred_at
        await ctx.producer.send(topic, cmd.to_bytes(), key=cmd.record_key())
    await ctx.producer.flush()
    await ctx.outcomes.wait_for(ctx.expected + total, timeout=seconds * 10 + 60)
    ctx.expected += total
    items = await ctx.sandbox.received(ctx.http, seq)
    ctx.seq = max([seq, *(i["seq"] for i in items)])
    latencies = [(ctx.outcomes.accepted[c] - t).total_seconds()
                 for c, t in published.items() if c in ctx.outcomes.accepted]
    return {
        "offered_per_second": rate,
        "commands": total,
        "accepted": len(latencies),
        "not_accepted": dict(ctx.outcomes.other - other_before),
        "latency_p50_seconds": round(percentile(latencies, 0.5), 4),
        "latency_p99_seconds": round(percentile(latencies, 0.99), 4),
        "latency_max_seconds": round(max(latencies), 4),
        "duplicates": duplicates(items),
        "rate_limited_130429": sum(1 for i in items if i["error_code"] == 130429),
    }


class Context:
    def __init__(self, settings: InfraSettings, producer: Any, sandbox: Sandbox,
                 http: httpx.AsyncClient, outcomes: Outcomes, sender_pids: list[int]) -> None:
        self.settings, self.producer, self.sandbox = settings, producer, sandbox
        self.http, self.outcomes, self.sender_pids = http, outcomes, sender_pids
        self.expected = 0
        self.seq = 0

    def sender_cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.sender_pids)


def spawn_sender(settings: InfraSettings, sandbox_url: str, group: str, instance: str,
                 **extra: object) -> subprocess.Popen[bytes]:
    """One sender process as deployed (replicas share each number's bucket,
    docs/outbound_sender.md); ``BENCH_PROFILE`` runs it under cProfile."""
    env = {**os.environ, **{k: str(v) for k, v in {
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "MONGODB_URI": settings.mongodb_uri,
        "MONGODB_DATABASE": settings.mongodb_database,
        "KAFKA_TOPIC_PREFIX": settings.topic_prefix,
        "LOG_LEVEL": "WARNING",
        "OUTBOUND_SENDER_PORT": free_port(),
        "OUTBOUND_SENDER_GROUP_ID": group,
        "OUTBOUND_SENDER_INSTANCE_ID": instance,
        "OUTBOUND_SENDER_CLOUD_API_BASE_URL": f"{sandbox_url}/v25.0",
        "OUTBOUND_SENDER_MAX_BUFFERED": 100_000,
        "OUTBOUND_SENDER_MAX_BATCH": 2000,
        **extra,
    }.items()}}
    profile = (["-m", "cProfile", "-o", f"{os.environ['BENCH_PROFILE']}.{instance}"]
               if os.environ.get("BENCH_PROFILE") else [])
    return subprocess.Popen([sys.executable, *profile, "-m", "services.outbound_sender"],
                            cwd=REPO, env=env)


@dataclass
class BenchRun:
    """One run's own database and topics, with the sandbox, a producer, the outcome reader and
    the sender processes (a bench adds and stops senders through ``spawn``)."""
    settings: InfraSettings
    group: str
    sandbox: Sandbox
    producer: Any
    outcomes: Outcomes
    http: httpx.AsyncClient
    senders: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def spawn(self, instance: str, **extra: object) -> subprocess.Popen[bytes]:
        sender = spawn_sender(self.settings, self.sandbox.url, self.group, instance, **extra)
        self.senders.append(sender)
        return sender


@asynccontextmanager
async def bench_run(stack: Any, channels: list[Channel], prefix: str,
                    partitions: int) -> AsyncIterator[BenchRun]:
    """Topics, database, the channels and their approved template, the sandbox as Meta and a
    producer; afterwards the senders stopped and the database dropped."""
    name = f"{prefix}{uuid.uuid4().hex[:8]}"
    settings = InfraSettings(kafka_bootstrap_servers=stack.kafka_bootstrap_servers,
                             mongodb_uri=stack.mongodb_uri, mongodb_database=name,
                             topic_prefix=f"{name}.", topic_partitions=partitions)
    await ensure_topics(settings, [*ALL_TOPICS, *DLQ_TOPICS])
    client = make_client(settings)
    db = client[settings.mongodb_database]
    for ch in channels:
        await db[CHANNELS_COLLECTION].insert_one(ch.to_document())
        await db[TEMPLATES_COLLECTION].insert_one({
            "_id": template_doc_id(ch.waba_id, TEMPLATE, "en_US"), "tenant_id": ch.tenant_id,
            "waba_id": ch.waba_id, "name": TEMPLATE, "language": "en_US",
            "status": "APPROVED", "category": "UTILITY", "components": []})
    sandbox = Sandbox(channels)
    producer = make_producer(settings, linger_ms=5)
    await producer.start()
    outcomes = Outcomes(settings)
    run: BenchRun | None = None
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            await sandbox.wait_ready(http)
            run = BenchRun(settings, f"{name}-sender", sandbox, producer, outcomes, http)
            yield run
    finally:
        senders = run.senders if run else []
        for sender in senders:
            if sender.poll() is None:
                sender.terminate()
        for sender in senders:
            try:
                sender.wait(60)
            except subprocess.TimeoutExpired:
                sender.kill()
        await outcomes.stop()
        await producer.stop()
        sandbox.stop()
        await client.drop_database(settings.mongodb_database)
        await client.close()


async def scenario_run(stack: Any, channels: list[Channel], steps: Any,
                       replicas: int) -> dict[str, Any]:
    async with bench_run(stack, channels, "bench", partitions=6) as run:
        for replica in range(replicas):
            run.spawn(f"bench-{replica}")
        await run.outcomes.start()
        results: dict[str, Any] = await steps(Context(
            run.settings, run.producer, run.sandbox, run.http, run.outcomes,
            [p.pid for p in run.senders]))
        results["sender_replicas"] = replicas
        if run.outcomes.examples:
            results["not_accepted_examples"] = run.outcomes.examples
        return results


async def run(args: argparse.Namespace, stack: RunningStack) -> dict[str, Any]:
    results: dict[str, Any] = {"seconds": args.seconds}
    one = channel(1, 1000)

    async def one_number(ctx: Context) -> dict[str, Any]:
        return {
            "one_number_saturated": await saturated(ctx, [one], args.seconds, "one"),
            "one_number_open_loop": await open_loop(ctx, one, 800, args.seconds),
        }

    results.update(await scenario_run(stack, [one], one_number, args.replicas))
    if not args.skip_fifty:
        many = [channel(100 + i, 80) for i in range(args.numbers)]

        async def fifty(ctx: Context) -> dict[str, Any]:
            return {"fifty_numbers": await saturated(ctx, many, args.seconds, "fifty")}

        results.update(await scenario_run(stack, many, fifty, args.replicas))
        slower = [channel(200 + i, args.within_mps) for i in range(args.numbers)]

        async def within(ctx: Context) -> dict[str, Any]:
            return {"fifty_numbers_within_capacity": await saturated(
                ctx, slower, args.seconds, "within")}

        results.update(await scenario_run(stack, slower, within, args.replicas))
    scenarios = [v for v in results.values() if isinstance(v, dict) and "duplicates" in v]
    goals = {
        "one_number_pacing_error_under_5pct":
            results["one_number_saturated"].get("pacing_error", 1.0) < 0.05,
        "no_duplicates": all(s.get("duplicates") == 0 for s in scenarios),
        "never_over_metas_rate_130429": all(s.get("rate_limited_130429") == 0
                                            for s in scenarios),
    }
    if "fifty_numbers" in results:
        goals["fifty_numbers_even_jain_over_0.99"] = (
            results["fifty_numbers"]["jain_fairness"] > 0.99)
        goals["fifty_numbers_within_capacity_pacing_error_under_5pct"] = (
            results["fifty_numbers_within_capacity"]["pacing_error_worst"] < 0.05)
    results["goals"] = goals
    return results


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--numbers", type=int, default=50)
    parser.add_argument("--skip-fifty", action="store_true")
    parser.add_argument("--within-mps", type=int, default=16,
                        help="per-number rate of the second 50-number run (total within what "
                             "one process carries)")
    parser.add_argument("--replicas", type=int, default=1,
                        help="sender processes sharing the work (and each number's bucket)")
    args = parser.parse_args()
    results = on_local_stack(lambda stack: run(args, stack))
    results["at"] = datetime.now(UTC).isoformat()
    report("outbound_sender", results)


if __name__ == "__main__":
    main()
