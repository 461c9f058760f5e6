"""``./dev soak [--minutes N] [--rate R] [--seed S] [--with-kills]``: the mixed scenario, round
after round at a configured rate for N minutes (default 10), the invariants after every round,
and each service's resident memory at start and end.

Memory growth is only meaningful for a process that ran the whole soak, so the default mix leaves
out the faults that kill or restart a process (``--with-kills`` puts them back; a restarted
replica is then reported as such, not as growth).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from tests.reliability.harness import running_stack, skip_reason
from tests.reliability.load import LoadConfig
from tests.reliability.scenarios import SINGLE, Scenario, mixed, run
from tests.reliability.table import Row, render, write

ROUND_SECONDS = 60.0
# Faults that leave every process running (memory is compared per process).
KEEPS_PROCESSES = [n for n in SINGLE
                   if not n.startswith("kill_") and n not in ("rolling_restart", "rebalance")]


def _mib(kib: int | None) -> str:
    return "n/a" if kib is None else f"{kib / 1024:.0f} MiB"


def memory_report(start: dict[str, tuple[int | None, int | None]],
                  end: dict[str, tuple[int | None, int | None]]) -> list[str]:
    lines = []
    for label in sorted(set(start) | set(end)):
        pid0, rss0 = start.get(label, (None, None))
        pid1, rss1 = end.get(label, (None, None))
        if pid0 is None or pid1 is None or pid0 != pid1:
            lines.append(f"  {label:24} start {_mib(rss0):>8}  end {_mib(rss1):>8}  "
                         f"(restarted: pid {pid0} -> {pid1}, no growth figure)")
            continue
        growth = (rss1 or 0) - (rss0 or 0)
        share = f"{100 * growth / rss0:+.0f}%" if rss0 else "n/a"
        lines.append(f"  {label:24} start {_mib(rss0):>8}  end {_mib(rss1):>8}  "
                     f"growth {growth / 1024:+.0f} MiB ({share})")
    return lines


async def soak(minutes: float, rate: float, seed: int, with_kills: bool) -> int:
    pool = list(SINGLE) if with_kills else KEEPS_PROCESSES
    rows: list[Row] = []
    async with running_stack(store_replicas=2, sender_replicas=2, seed=seed) as stack:
        await asyncio.sleep(5.0)  # past start-up
        start = stack.rss()
        print("soak: memory at start\n" + "\n".join(
            f"  {label:24} {_mib(rss)}" for label, (_, rss) in sorted(start.items())),
            flush=True)
        ends_at = time.monotonic() + minutes * 60
        n = 0
        while time.monotonic() < ends_at:
            n += 1
            left = ends_at - time.monotonic()
            seconds = max(20.0, min(ROUND_SECONDS, left))
            faults = max(1, int(seconds // 20))
            chosen = Scenario(f"soak-{n}", "the mixed scenario, one round of the soak",
                              mixed(faults, pool),
                              LoadConfig(rate=rate, max_seconds=seconds,
                                         max_actions=int(rate * seconds) + 1))
            row = await run(stack, chosen, seed=seed + n, tag=100 + n % 800)
            rows.append(row)
            print(render([row]), flush=True)
            if not row.passed:
                print(row.detail, flush=True)
        end = stack.rss()
    report = memory_report(start, end)
    print(render(rows, f"soak: {minutes:g} min at {rate:g} actions/s (seed {seed})"))
    print("soak: memory (RSS) at start and end\n" + "\n".join(report))
    path = write(rows, f"soak: {minutes:g} min at {rate:g} actions/s (seed {seed})")
    with path.open("a") as out:
        out.write("\n## memory (RSS)\n\n```\n" + "\n".join(report) + "\n```\n")
    failed = [r for r in rows if not r.passed]
    print(f"soak: {len(rows) - len(failed)} of {len(rows)} rounds passed; table in {path}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="./dev soak",
        description="The mixed fault scenario for N minutes, with memory at start and end.")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=8.0, help="load actions per second")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--with-kills", action="store_true",
                        help="also SIGKILL and restart services (no growth figure for those)")
    args = parser.parse_args(argv)
    reason = skip_reason()
    if reason:
        print(f"soak: cannot run: {reason}", file=sys.stderr)
        return 2
    return asyncio.run(soak(args.minutes, args.rate, args.seed, args.with_kills))


if __name__ == "__main__":
    sys.exit(main())
