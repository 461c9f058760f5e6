"""The scenarios: one fault (or a seeded random mix) injected while the load runs, then the
invariants once things are quiet, and the time each service took to be ready again.

Each fault waits for the load to be under way, injects, ends the fault, and measures recovery:
seconds until every running service answers ``/readyz`` 200 again (bounded by
``READY_BOUND_SECONDS``, over which it is a failure). Kafka's restart also measures how long
webhook_ingest takes to answer a webhook 200 again, and whether its ``/readyz`` told the truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import orjson

from sandbox.webhooks import SIGNATURE_HEADER, sign, status_item, statuses_payload
from tests.reliability.harness import (
    APP_SECRET,
    READY_BOUND_SECONDS,
    SERVICES,
    ReliabilityStack,
    Service,
)
from tests.reliability.invariants import settle
from tests.reliability.load import Load, LoadConfig, probe_inbound
from tests.reliability.table import Row

# webhook_ingest answers 200 again this soon after Kafka is back ("within seconds").
INGEST_BACK_BOUND_SECONDS = 30.0
# Once Kafka has been back this long, a /readyz 200 while webhooks are refused 503 is a lie.
READYZ_GRACE_SECONDS = 10.0
WARMUP_SECONDS = 4.0
# A SIGTERM ends in exit 0, or by the signal itself: uvicorn (webhook_ingest, inbox_api) re-raises
# the captured signal once its graceful shutdown is done (exit 143 in Kubernetes). A process
# that needed SIGKILL after 40 s (None) or exited otherwise did not stop gracefully.
GRACEFUL_EXIT = (0, -signal.SIGTERM)
SETTLE_SECONDS = 120.0


@dataclass
class FaultContext:
    """What a fault does its work with, and what it records."""

    stack: ReliabilityStack
    load: Load
    rng: random.Random
    faults: list[str] = field(default_factory=list)
    recovery: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    async def warmup(self, seconds: float = WARMUP_SECONDS) -> None:
        await asyncio.sleep(seconds)

    async def recovered(self, what: str) -> None:
        """Wait until every running replica is ready; record the slowest, fail the missing."""
        waited = await self.stack.wait_ready()
        for label, seconds in sorted(waited.items()):
            if seconds is None:
                self.failures.append(f"{label} not ready within {READY_BOUND_SECONDS:.0f} s "
                                     f"after {what}")
        figures = [s for s in waited.values() if s is not None]
        if figures:
            self.recovery.append(max(figures))

    def pick(self, name: str) -> Service:
        running = self.stack.running(name)
        assert running, f"no running {name} to fault"
        return self.rng.choice(running)


Fault = Callable[[FaultContext], Awaitable[None]]


@dataclass(frozen=True)
class Scenario:
    name: str
    proves: str
    fault: Fault
    load: LoadConfig = field(default_factory=LoadConfig)


# -- faults -------------------------------------------------------------------------------------

async def kafka_restart(ctx: FaultContext, down_seconds: float = 15.0) -> None:
    """Kafka stopped and restarted under load; ingest's answers and /readyz sampled throughout."""
    stack = ctx.stack
    await ctx.warmup()
    ingest = stack.services["webhook_ingest"][0]
    samples: list[tuple[float, int | None, bool]] = []  # (time, webhook answer, readyz 200)
    stop = asyncio.Event()
    answered = asyncio.Event()  # a webhook answered 200 after Kafka's return
    back: list[float] = []

    async def sample() -> None:
        while not stop.is_set():
            probe, ready = await asyncio.gather(probe_inbound(ctx.load), stack.ready(ingest))
            status = probe.webhook_status if probe else None
            samples.append((time.monotonic(), status, ready))
            if back and status == 200 and samples[-1][0] >= back[0]:
                answered.set()
            await asyncio.sleep(0.5)

    sampler = asyncio.create_task(sample())
    await stack.stop_kafka()
    down_at = time.monotonic()
    await asyncio.sleep(down_seconds)
    await stack.start_kafka()
    back_at = time.monotonic()
    back.append(back_at)
    ctx.faults.append(f"Kafka stopped {back_at - down_at:.0f} s under load")
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(answered.wait(), 60.0)
    await asyncio.sleep(READYZ_GRACE_SECONDS + 2)
    stop.set()
    await sampler
    during = [s for s in samples if down_at + 2 <= s[0] <= back_at]
    first_ok = next((t for t, status, _ in samples if t >= back_at and status == 200), None)
    if not any(not ready for _, _, ready in during):
        ctx.failures.append(f"webhook_ingest /readyz answered 200 throughout the Kafka outage "
                            f"({len(during)} samples) although it could not publish")
    if first_ok is None:
        ctx.failures.append("webhook_ingest answered no webhook 200 within 60 s of Kafka's "
                            f"return (answers after: "
                            f"{sorted({str(s) for t, s, _ in samples if t >= back_at})})")
    else:
        seconds = first_ok - back_at
        ctx.recovery.append(round(seconds, 2))
        ctx.faults[-1] += f"; ingest 200 again {seconds:.1f} s after Kafka's return"
        if seconds > INGEST_BACK_BOUND_SECONDS:
            ctx.failures.append(f"webhook_ingest answered 200 only {seconds:.1f} s after Kafka's "
                                f"return (bound {INGEST_BACK_BOUND_SECONDS:.0f} s)")
    lies = [s for s in samples if s[0] >= back_at + READYZ_GRACE_SECONDS
            and s[1] != 200 and s[2]]
    if lies:
        ctx.failures.append(f"webhook_ingest /readyz answered 200 while webhooks were refused "
                            f"({lies[0][1]}) {lies[0][0] - back_at:.0f} s after Kafka's return "
                            f"({len(lies)} samples)")
    await ctx.recovered("Kafka's restart")


async def mongo_restart(ctx: FaultContext, down_seconds: float = 10.0) -> None:
    await ctx.warmup()
    await ctx.stack.stop_mongo()
    await asyncio.sleep(down_seconds)
    await ctx.stack.start_mongo()
    ctx.faults.append(f"MongoDB stopped {down_seconds:.0f} s under load")
    await ctx.recovered("MongoDB's restart")


def kill(name: str) -> Fault:
    async def fault(ctx: FaultContext) -> None:
        await ctx.warmup()
        service = ctx.pick(name)
        service.kill()
        await asyncio.sleep(2.0)
        service.start()
        ctx.faults.append(f"{service.label} SIGKILLed, restarted 2 s later")
        await ctx.recovered(f"{service.label}'s restart")
    return fault


async def rolling_restart(ctx: FaultContext) -> None:
    """Every service stopped with SIGTERM and started again, one after the other."""
    await ctx.warmup()
    for name in SERVICES:
        for service in ctx.stack.running(name):
            code = await asyncio.to_thread(service.terminate)
            if code not in GRACEFUL_EXIT:
                ctx.failures.append(f"{service.label} did not stop gracefully on SIGTERM "
                                    f"(exit {code}; None: killed after 40 s) "
                                    f"(log: {service.log_tail(5)})")
            service.start()
            waited = await ctx.stack.wait_ready([service])
            ctx.recovery.extend(s for s in waited.values() if s is not None)
    ctx.faults.append("rolling SIGTERM restart of every service")
    await ctx.recovered("the rolling restart")


async def rebalance(ctx: FaultContext) -> None:
    """A second replica of the store and of the sender joins mid-load; then the first store
    replica is SIGKILLed and the first sender replica leaves with SIGTERM."""
    stack = ctx.stack
    await ctx.warmup()
    old_store, old_sender = ctx.pick("conversation_store"), ctx.pick("outbound_sender")
    new_store = stack.add_replica("conversation_store")
    new_sender = stack.add_replica("outbound_sender")
    await ctx.stack.wait_ready([new_store, new_sender])
    await asyncio.sleep(5.0)
    old_store.kill()
    code = await asyncio.to_thread(old_sender.terminate)
    if code not in GRACEFUL_EXIT:
        ctx.failures.append(f"{old_sender.label} exited {code} on SIGTERM during a rebalance")
    ctx.faults.append(f"{new_store.label}, {new_sender.label} joined; {old_store.label} "
                      f"SIGKILLed, {old_sender.label} SIGTERMed")
    await ctx.recovered("the rebalance")


async def cloud_api_faults(ctx: FaultContext) -> None:
    """5xx bursts, 130429 storms, timeouts (some after Meta accepted), slow answers, failed
    statuses: on every number, in waves."""
    stack = ctx.stack
    await ctx.warmup()
    waves: list[list[tuple[str, int, dict[str, object]]]] = [
        [("server_error", 6, {"http_status": 503}), ("unknown_error", 2, {})],
        [("rate_limit", 15, {})],
        [("timeout", 2, {"seconds": 7.0, "accept": True}), ("timeout", 1, {"seconds": 7.0}),
         ("slow", 4, {"seconds": 2.0})],
        [("status_failed", 2, {})],
    ]
    counts: dict[str, int] = {}
    for wave in waves:
        for channel in stack.channels:
            for kind, count, options in wave:
                await stack.sandbox.inject_fault(channel.phone_number_id, kind, count,  # type: ignore[arg-type]
                                                 **options)  # type: ignore[arg-type]
                label = kind + ("+accepted" if options.get("accept") else "")
                counts[label] = counts.get(label, 0) + count
        await asyncio.sleep(4.0)
    await stack.sandbox.clear_faults()
    ctx.faults.append("Cloud API " + ", ".join(f"{k}×{v}" for k, v in counts.items()))


async def webhooks_dup_reorder(ctx: FaultContext) -> None:
    """The sandbox shuffles and duplicates status webhooks, and recorded webhook bodies (customer
    messages and statuses) are posted again, signed, in random order."""
    stack = ctx.stack
    await stack.sandbox.configure(out_of_order_probability=0.5, duplicate_probability=0.3)
    await ctx.warmup()
    reposted = 0
    try:
        for _ in range(5):
            bodies = [i.payload for i in ctx.rng.sample(
                ctx.load.record.inbound, min(8, len(ctx.load.record.inbound)))]
            customers = ctx.load.record.customers()
            emitted = [s for s in await stack.sandbox.statuses()
                       if s.delivered and s.recipient_wa_id in customers]
            by_number = {c.phone_number_id: c for c in stack.channels}
            for status in ctx.rng.sample(emitted, min(20, len(emitted))):
                item = status_item(status.wamid, status.status, int(status.at.timestamp()),
                                   status.recipient_wa_id, callback_data=status.callback_data,
                                   error_code=status.error_code)
                bodies.append(statuses_payload([(by_number[status.phone_number_id], item)]))
            ctx.rng.shuffle(bodies)
            for body in bodies:
                raw = orjson.dumps(body)
                try:
                    await stack.http.post(stack.ingest_url, content=raw, headers={
                        "content-type": "application/json",
                        SIGNATURE_HEADER: sign(raw, APP_SECRET.encode())}, timeout=10.0)
                    reposted += 1
                except httpx.HTTPError:
                    pass
            await asyncio.sleep(2.0)
    finally:
        await stack.sandbox.configure(out_of_order_probability=0.0, duplicate_probability=0.0)
    ctx.faults.append(f"status webhooks shuffled (p=0.5) and duplicated (p=0.3); {reposted} "
                      "recorded webhooks re-posted out of order")


def network(target: str, mode: str, seconds: float = 10.0) -> Fault:
    """The proxy to Kafka or MongoDB cuts, stalls or delays (0.3 s) every connection."""
    async def fault(ctx: FaultContext) -> None:
        await ctx.warmup()
        proxy = ctx.stack.kafka_proxy if target == "kafka" else ctx.stack.mongo_proxy
        if mode == "cut":
            await asyncio.to_thread(proxy.cut)
        elif mode == "stall":
            await asyncio.to_thread(proxy.stall)
        else:
            await asyncio.to_thread(proxy.delay, 0.3)
        await asyncio.sleep(seconds)
        await asyncio.to_thread(proxy.restore)
        extra = " by 0.3 s" if mode == "delay" else ""
        ctx.faults.append(f"network to {target} {mode}{extra} for {seconds:.0f} s")
        await ctx.recovered(f"the network to {target} came back")
    return fault


SINGLE: dict[str, tuple[str, Fault]] = {
    "kafka_restart": ("webhook_ingest answers 200 within seconds of Kafka's return, with no "
                      "manual step, and /readyz is not 200 while it cannot publish; nothing "
                      "acknowledged is lost or doubled across a broker restart", kafka_restart),
    "mongo_restart": ("the store and the sender wait out a database restart (paused, still in "
                      "their groups) and lose nothing", mongo_restart),
    **{f"kill_{name}": (f"{name} killed with SIGKILL mid-load and restarted: nothing lost, "
                        "nothing sent twice, in-doubt sends resolved by Meta's statuses",
                        kill(name)) for name in SERVICES},
    "rolling_restart": ("a graceful SIGTERM of each service in turn exits 0 and loses "
                        "nothing", rolling_restart),
    "rebalance": ("replicas of the store and the sender joining and leaving one consumer group "
                  "mid-load (one SIGKILLed) send nothing twice and lose nothing", rebalance),
    "cloud_api_faults": ("5xx bursts, 130429 storms, timeouts (also after Meta accepted), slow "
                         "answers: retried when safe, never sent twice, in doubt only until "
                         "Meta's status", cloud_api_faults),
    "webhooks_dup_reorder": ("duplicated and reordered webhooks change nothing: one message per "
                             "wamid, the highest status wins", webhooks_dup_reorder),
    **{f"net_{target}_{mode}": (f"the network to {target} {mode} for 10 s: every service "
                                "recovers by itself, nothing lost or doubled",
                                network(target, mode))
       for target in ("kafka", "mongo") for mode in ("cut", "stall", "delay")},
}


def mixed(count: int, names: list[str] | None = None, gap: float = 3.0) -> Fault:
    """``count`` faults drawn with the scenario's seeded RNG, one after the other."""
    pool = names or [n for n in SINGLE if n != "rolling_restart"]

    async def fault(ctx: FaultContext) -> None:
        chosen = [ctx.rng.choice(pool) for _ in range(count)]
        ctx.faults.append("mix: " + ", ".join(chosen))
        for name in chosen:
            await SINGLE[name][1](ctx)
            await asyncio.sleep(gap)
    return fault


def scenario(name: str, load: LoadConfig | None = None) -> Scenario:
    proves, fault = SINGLE[name]
    return Scenario(name, proves, fault, load or LoadConfig())


# -- running one --------------------------------------------------------------------------------

async def run(stack: ReliabilityStack, chosen: Scenario, *, seed: int, tag: int,
              settle_seconds: float = SETTLE_SECONDS) -> Row:
    """The scenario's load with its fault, then quiescence and the invariants: one table row."""
    load = Load(stack, random.Random(f"{seed}-load-{chosen.name}"), tag, chosen.load)
    ctx = FaultContext(stack, load, random.Random(f"{seed}-fault-{chosen.name}"))
    await load.prepare()
    runner = asyncio.create_task(load.run())
    try:
        await chosen.fault(ctx)
    except Exception as exc:
        ctx.failures.append(f"the fault itself failed: {type(exc).__name__}: {exc}")
    finally:
        record = await runner
    # A service that ended up down (a fault that failed half-way) is brought back for the check.
    dead = stack.dead_services()
    for service in stack.all_services():
        if service.process.proc is not None and not service.alive():
            service.start()
    if dead:
        ctx.failures.extend(f"{d[:300]}" for d in dead)
        await ctx.recovered("restarting dead services")
    findings = await settle(stack, record, settle_seconds)
    failures = list(ctx.failures)
    if not findings.ok:
        failures.insert(0, findings.headline())
    answers: dict[str, int] = {}
    for send in record.sends:
        answers[send.answer] = answers.get(send.answer, 0) + 1
    detail = "\n".join([
        f"scenario {chosen.name} (seed {seed}): {chosen.proves}",
        f"load: {len(record.inbound)} customer messages, {len(record.sends)} sends "
        f"(API answers {answers}); checked {findings.checked_inbound} inbound, "
        f"{findings.checked_commands} commands",
        "faults: " + "; ".join(ctx.faults),
        f"recovery (s): {ctx.recovery}",
        *(f"failure: {f}" for f in ctx.failures),
        "invariants:", findings.summary(limit=8),
        *(f"note: {n}" for n in [*findings.notes, *stack.notes]),
        *(f"load error: {e}" for e in record.errors[:5]),
    ])
    if failures:
        # Measured and reported above; the next scenario starts from restarted services.
        waited = await stack.restart_all()
        detail += f"\nafter the failure every service was restarted (ready in s: {waited})"
    return Row(scenario=chosen.name, load=record.messages, faults="; ".join(ctx.faults),
               lost=len(findings.lost), duplicated=len(findings.duplicated),
               wrong_status=len(findings.wrong_status),
               stuck_unknown=len(findings.stuck_unknown),
               recover_seconds=max(ctx.recovery) if ctx.recovery else None,
               failures=failures, detail=detail)
