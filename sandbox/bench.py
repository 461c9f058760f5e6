"""Benchmark: the sandbox's send endpoint vs an empty FastAPI endpoint, measured in the same run.

    python -m sandbox.bench [--rounds 3] [--duration 6] [--connections 32] [--rate 1000]

Processes: the sandbox (``python -m sandbox``: uvicorn + uvloop + httptools, posting its status
webhooks for real), a webhook sink standing in for webhook_ingest (answers 200, counts statuses),
the empty FastAPI endpoint (the baseline), and a load generator speaking raw HTTP/1.1 over
keep-alive loopback connections. No Kafka or MongoDB: the sandbox needs neither.

Per round: a closed-loop saturation run against each server (requests/s, p50/p99, server CPU per
request), then an open-loop run at ``--rate`` requests/s on ONE business number configured at
1,000 messages/s (the top Meta tier the sender benchmark drives), which must see no 130429 and
no errors. After the rounds, every status webhook must have reached the sink (3 per accepted
message, none dropped). Goals: saturation >= 1,000 requests/s with statuses on, and the
throughput ratio sandbox/empty reported (>= 0.5 expected). Results go to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from statistics import median
from typing import Any

from devstack.bench import (
    REPO,
    Connection,
    arguments,
    child,
    closed_loop,
    open_loop,
    ratio,
    report,
    run_loadgen,
    serve_empty,
    wait_http,
)
from devstack.process import free_port

TOKEN = "bench-token"
ONE_NUMBER = "100000000000100"
SPREAD_NUMBERS = [f"1000000000002{i:02d}" for i in range(10)]
BODY = ('{"messaging_product":"whatsapp","to":"+1650555%04d","type":"template","template":'
        '{"name":"order_update","language":{"code":"en_US"},"components":[{"type":"body",'
        '"parameters":[{"type":"text","text":"Jo"},{"type":"text","text":"A-%d"}]}]},'
        '"biz_opaque_callback_data":"cmd-%d"}')


# ---------------------------------------------------------------- load generator (own process)

class Sends(Connection):
    """Cloud API send POSTs, spread over ``paths`` (one per business number)."""

    def __init__(self, port: int, paths: list[str], offset: int) -> None:
        super().__init__(port)
        self.paths = paths
        self.counter = offset * 1_000_000

    def request(self) -> bytes:
        self.counter += 1
        n = self.counter
        body = (BODY % (n % 10000, n, n)).encode()
        path = self.paths[n % len(self.paths)]
        return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode() + body


async def loadgen(args: argparse.Namespace) -> dict[str, Any]:
    numbers = SPREAD_NUMBERS if args.mode_numbers == "spread" else [ONE_NUMBER]
    paths = [f"/v25.0/{n}/messages" for n in numbers]
    conns = [Sends(args.port, paths, args.offset + i) for i in range(args.connections)]
    await asyncio.gather(*(c.open() for c in conns))
    if args.rate:
        result = (await open_loop(conns, args.duration, args.rate)).summary()
        result["target_rps"] = args.rate
    else:
        await closed_loop(conns, args.warmup)
        print("mark start", flush=True)
        result = (await closed_loop(conns, args.duration)).summary()
        print("mark end", flush=True)
    for conn in conns:
        conn.close()
    return result


# ---------------------------------------------------------------- servers (own processes)

def empty_server(port: int) -> None:
    serve_empty(port, "/v25.0/{number}/messages",
                b'{"messaging_product":"whatsapp","messages":[{"id":"wamid.X"}]}')


def sink(port: int) -> None:
    """A webhook receiver: answers 200 at once; on SIGTERM prints the POSTs and statuses seen."""
    counts = {"posts": 0, "statuses": 0}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                body = await reader.readexactly(length) if length else b""
                counts["posts"] += 1
                counts["statuses"] += body.count(b'"recipient_id"')
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        server = await asyncio.start_server(handle, "127.0.0.1", port)
        print("sink ready", flush=True)
        await stop.wait()
        server.close()
        print(json.dumps(counts), flush=True)
        os._exit(0)  # skip cancelling the open connections' tasks (noisy on 3.11)

    asyncio.run(serve())


# ---------------------------------------------------------------- orchestration

def drive(pid: int, port: int, args: argparse.Namespace, numbers: str, offset: int,
          rate: float = 0.0) -> dict[str, Any]:
    command = [sys.executable, "-m", "sandbox.bench", "loadgen", "--port", str(port),
               "--connections", str(args.connections), "--duration", str(args.duration),
               "--warmup", str(args.warmup), "--numbers", numbers, "--offset", str(offset),
               "--rate", str(rate)]
    result, marks = run_loadgen(command, {"server": pid})
    if marks:
        result["server_cpu_us_per_request"] = round(
            (marks["end"]["server"] - marks["start"]["server"]) / max(1, result["requests"])
            * 1e6, 1)
    return result


def sandbox_env(port: int, sink_port: int) -> dict[str, str]:
    channels = [{"phone_number_id": n, "tenant_id": "bench", "waba_id": "200000000000100",
                 "display_phone_number": f"1555000{i:04d}", "access_token": TOKEN,
                 "throughput_mps": 1000}
                for i, n in enumerate([ONE_NUMBER, *SPREAD_NUMBERS])]
    templates = [{"name": "order_update", "body_text": "Hi {{1}}, order {{2}} shipped"}]
    return {**os.environ, "PYTHONPATH": str(REPO), "LOG_LEVEL": "WARNING",
            "SANDBOX_PORT": str(port), "SANDBOX_CHANNELS": json.dumps(channels),
            "SANDBOX_TEMPLATES": json.dumps(templates),
            "SANDBOX_WEBHOOK_URL": f"http://127.0.0.1:{sink_port}/webhook",
            "SANDBOX_RECEIVED_LIMIT": "200000"}


def run(args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    port, empty_port, sink_port = free_port(), free_port(), free_port()
    rounds: list[dict[str, Any]] = []
    with child([sys.executable, "-m", "sandbox.bench", "sink", "--port", str(sink_port)],
                 env, stdout=subprocess.PIPE, text=True) as sink_proc, \
         child([sys.executable, "-m", "sandbox.bench", "empty-server", "--port",
                  str(empty_port)], env) as empty_proc, \
         child([sys.executable, "-m", "sandbox"], sandbox_env(port, sink_port)) as sandbox:
        assert sink_proc.stdout is not None
        sink_proc.stdout.readline()  # "sink ready"
        wait_http(empty_port, "/healthz", empty_proc)
        wait_http(port, "/readyz", sandbox)
        for n in range(args.rounds):
            empty = drive(empty_proc.pid, empty_port, args, "spread", n * 100)
            sat = drive(sandbox.pid, port, args, "spread", n * 100 + 40)
            # One number at the target rate; the bucket refills, so rounds do not interfere.
            one = drive(sandbox.pid, port, args, "one", n * 100 + 80,
                        rate=args.rate)
            rounds.append({
                "empty_fastapi": empty, "sandbox": sat, "one_number_open_loop": one,
                "throughput_ratio": ratio(sat["rps"], empty["rps"]),
                "cpu_efficiency_ratio": ratio(empty["server_cpu_us_per_request"],
                                              sat["server_cpu_us_per_request"]),
            })
        idle = httpx.post(f"http://127.0.0.1:{port}/_sandbox/webhooks/wait-idle",
                          json={"timeout": 60}, timeout=90).json()
        stats = httpx.get(f"http://127.0.0.1:{port}/_sandbox/stats").json()
        sink_proc.terminate()
        delivered = json.loads(sink_proc.stdout.readline() or "{}")
    accepted = stats["outcomes"].get("accepted", 0)
    sat_rps = median(r["sandbox"]["rps"] for r in rounds)
    one_rounds = [r["one_number_open_loop"] for r in rounds]
    one_ok = all(r["errors"] == 0 for r in one_rounds)
    statuses_ok = idle["idle"] and delivered.get("statuses") == 3 * accepted \
        and stats["webhooks"]["dropped"] == 0
    return {
        "benchmark": "sandbox",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "connections": args.connections,
        "duration_s": args.duration,
        "rounds": rounds,
        "webhooks": {"accepted_messages": accepted, "statuses_expected": 3 * accepted,
                     "statuses_at_sink": delivered.get("statuses"),
                     "posts_at_sink": delivered.get("posts"),
                     "dropped": stats["webhooks"]["dropped"],
                     "failed_posts": stats["webhooks"]["failed_posts"]},
        "median": {
            "empty_fastapi_rps": median(r["empty_fastapi"]["rps"] for r in rounds),
            "sandbox_rps": sat_rps,
            "sandbox_p99_ms": median(r["sandbox"]["p99_ms"] for r in rounds),
            "empty_fastapi_cpu_us_per_request": median(
                r["empty_fastapi"]["server_cpu_us_per_request"] for r in rounds),
            "sandbox_cpu_us_per_request": median(
                r["sandbox"]["server_cpu_us_per_request"] for r in rounds),
            "throughput_ratio": median(r["throughput_ratio"] for r in rounds),
            "cpu_efficiency_ratio": median(r["cpu_efficiency_ratio"] for r in rounds),
            "one_number_rps": median(r["rps"] for r in one_rounds),
            "one_number_p50_ms": median(r["p50_ms"] for r in one_rounds),
            "one_number_p99_ms": median(r["p99_ms"] for r in one_rounds),
        },
        "goals": {"saturation_rps_min": 1000, "one_number_rate": args.rate,
                  "one_number_errors": 0, "statuses_all_delivered": True,
                  "met": sat_rps >= 1000 and one_ok and statuses_ok},
    }


def main() -> None:
    parser = arguments(__doc__, prog="python -m sandbox.bench")
    parser.add_argument("mode", nargs="?", default="run",
                        choices=["run", "loadgen", "empty-server", "sink"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=6.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--numbers", dest="mode_numbers", default="spread",
                        choices=["spread", "one"])
    parser.add_argument("--offset", type=int, default=0)
    args = parser.parse_args()
    if args.mode == "empty-server":
        empty_server(args.port)
        return
    if args.mode == "sink":
        sink(args.port)
        return
    if args.mode == "loadgen":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        print(json.dumps(asyncio.run(loadgen(args))))
        return
    report("sandbox", run(args))


if __name__ == "__main__":
    main()
