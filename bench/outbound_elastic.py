"""Benchmark: elastic sending, each number's rate held globally by 1, 2 and 4 sender replicas.

    python -m bench.outbound_elastic [--seconds 30] [--scale 1.0] [--numbers 50]
                                     [--replicas 1 2 4] [--no-rebalance]

Processes: Kafka and the database (devstack, or the servers in ``KAFKA_BOOTSTRAP_SERVERS`` /
``MONGODB_URI``), the WhatsApp sandbox standing in for Meta (it answers 130429 above a number's
throughput), N sender processes as deployed (the shared rate: no ``THROUGHPUT_SHARE``), and
this script, which publishes the backlog and reads the results.

One run per replica count: a backlog of ``--seconds`` worth of each number's rate for ONE number
at 1,000/s and 50 numbers at 80/s (both times ``--scale``), published at once. A third of the way
in, one replica is added; two thirds in, one of the first ones is stopped (SIGTERM, as a scale
down): two rebalances mid-run. Per number: the achieved rate (sandbox request times, first
second left out) against the configured one: the pacing error |achieved - rate| / rate, and the
overshoot, the busiest second over the rate. Duplicates (requests accepted twice for one
command) must be 0. Printed as a markdown table and JSON (bench/results/).

Full size needs about 5 cores for the senders (one process carries ~1,000 messages/s per core)
and a real MongoDB; on a small machine run it scaled down (``--scale 0.1 --seconds 15``): the
figures then measure the pacing, not the throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from statistics import median
from typing import Any

from bench.outbound_sender import (
    bench_run,
    channel,
    command,
    duplicates,
    publish_backlog,
)
from devstack.bench import arguments, on_local_stack, report
from devstack.stack import RunningStack
from shared.channels import Channel
from shared.events.topics import INBOX_COMMANDS


def number_figures(items: list[dict[str, Any]], number: str, target: float) -> dict[str, float]:
    """Achieved rate (first second left out: the saved burst), error and overshoot."""
    times = sorted(datetime.fromisoformat(i["at"]).timestamp() for i in items
                   if i["phone_number_id"] == number and i["wamid"])
    if len(times) < 3:
        return {"accepted": len(times), "achieved": 0.0, "error": 1.0, "overshoot": 0.0}
    window = [t for t in times if t >= times[0] + 1.0] or times
    span = window[-1] - window[0]
    achieved = (len(window) - 1) / span if span > 0 else 0.0
    per_second = Counter(int(t - times[0]) for t in times)
    busiest = max(per_second[s] for s in range(1, max(2, int(times[-1] - times[0]))))
    return {"accepted": len(times), "achieved": round(achieved, 2),
            "error": round(abs(achieved - target) / target, 4),
            "overshoot": round(max(0.0, busiest - target) / target, 4)}


async def one_run(stack: RunningStack, channels: list[Channel], replicas: int,
                  seconds: float, rebalance: bool) -> dict[str, Any]:
    events: list[str] = []
    # As deployed: the shared rate, no hand-set share (1.0 is the default).
    shared = {"OUTBOUND_SENDER_RATE_SCOPE": "shared", "OUTBOUND_SENDER_CAMPAIGNS_ENABLED": "false",
              "OUTBOUND_SENDER_THROUGHPUT_SHARE": 1.0}
    async with bench_run(stack, channels, "elastic", partitions=12) as run:
        for n in range(replicas):
            run.spawn(f"r{n}", **shared)
        await run.outcomes.start()
        await asyncio.sleep(8)  # the group forms before the backlog
        run_id = uuid.uuid4().hex[:6]
        per_number = {c.phone_number_id: int(c.throughput_mps * seconds) for c in channels}
        commands = [command(c, n, run_id) for n in range(max(per_number.values()))
                    for c in channels if n < per_number[c.phone_number_id]]
        await publish_backlog(run.producer, run.settings.topic(INBOX_COMMANDS), commands)
        started = time.monotonic()
        if rebalance:
            await asyncio.sleep(seconds / 3)
            run.spawn(f"r{replicas}", **shared)
            events.append(f"+1 at {time.monotonic() - started:.0f}s")
            await asyncio.sleep(seconds / 3)
            run.senders[0].send_signal(signal.SIGTERM)
            events.append(f"-1 at {time.monotonic() - started:.0f}s")
        await run.outcomes.wait_for(len(commands), timeout=seconds * 10 + 90)
        elapsed = time.monotonic() - started
        items = await run.sandbox.received(run.http, 0)
        not_accepted = dict(run.outcomes.other)
    big, *many = channels
    numbers = {c.phone_number_id: number_figures(items, c.phone_number_id, c.throughput_mps)
               for c in channels}
    errors = [numbers[c.phone_number_id]["error"] for c in many]
    overshoots = [numbers[c.phone_number_id]["overshoot"] for c in many]
    return {
        "replicas": replicas, "rebalance": events, "commands": len(commands),
        "seconds_to_drain": round(elapsed, 1),
        "big_number": {"target": big.throughput_mps, **numbers[big.phone_number_id]},
        "numbers": len(many), "target_per_number": many[0].throughput_mps if many else None,
        "error_p50": round(median(errors), 4) if errors else None,
        "error_max": max(errors) if errors else None,
        "overshoot_max": max(overshoots) if overshoots else None,
        "rate_limited_130429": sum(1 for i in items if i["error_code"] == 130429),
        "not_accepted": not_accepted,
        "duplicates": duplicates(items),
    }


def table(runs: list[dict[str, Any]]) -> str:
    lines = [
        "| replicas | rebalance | big number: target / achieved / error | 50 numbers: target | "
        "error p50 | error max | busiest second over target (max) | 130429 | duplicates |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in runs:
        big = r["big_number"]
        lines.append(
            f"| {r['replicas']} | {', '.join(r['rebalance']) or '-'} | {big['target']} / "
            f"{big['achieved']} / {big['error']:.1%} | {r['target_per_number']} | "
            f"{r['error_p50']:.1%} | {r['error_max']:.1%} | {r['overshoot_max']:.1%} | "
            f"{r['rate_limited_130429']} | {r['duplicates']} |")
    return "\n".join(lines)


async def run(args: argparse.Namespace, stack: RunningStack) -> dict[str, Any]:
    big = channel(1, max(1, round(1000 * args.scale)))
    many = [channel(100 + i, max(1, round(80 * args.scale))) for i in range(args.numbers)]
    runs = [await one_run(stack, [big, *many], replicas, args.seconds, not args.no_rebalance)
            for replicas in args.replicas]
    return {"seconds": args.seconds, "scale": args.scale, "runs": runs, "table": table(runs),
            "no_duplicates": all(r["duplicates"] == 0 for r in runs)}


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiplies every number's rate (0.1: 100/s and 50 x 8/s)")
    parser.add_argument("--numbers", type=int, default=50)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--no-rebalance", action="store_true")
    args = parser.parse_args()
    results = on_local_stack(lambda stack: run(args, stack))
    results["at"] = datetime.now(UTC).isoformat()
    report("outbound_elastic", results)
    print(results["table"])


if __name__ == "__main__":
    main()
