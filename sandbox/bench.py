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
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

from fastapi import FastAPI, Request, Response

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
TOKEN = "bench-token"
ONE_NUMBER = "100000000000100"
SPREAD_NUMBERS = [f"1000000000002{i:02d}" for i in range(10)]
BODY = ('{"messaging_product":"whatsapp","to":"+1650555%04d","type":"template","template":'
        '{"name":"order_update","language":{"code":"en_US"},"components":[{"type":"body",'
        '"parameters":[{"type":"text","text":"Jo"},{"type":"text","text":"A-%d"}]}]},'
        '"biz_opaque_callback_data":"cmd-%d"}')


# ---------------------------------------------------------------- load generator (own process)

class Connection:
    """One keep-alive HTTP/1.1 connection sending pre-framed POSTs."""

    def __init__(self, port: int, paths: list[str], offset: int) -> None:
        self.port, self.paths = port, paths
        self.counter = offset * 1_000_000
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    def _request(self) -> bytes:
        self.counter += 1
        n = self.counter
        body = (BODY % (n % 10000, n, n)).encode()
        path = self.paths[n % len(self.paths)]
        return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode() + body

    async def call(self) -> int:
        assert self.reader is not None
        assert self.writer is not None
        self.writer.write(self._request())
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await self.reader.readexactly(length)
        return int(head[9:12])


def _summary(latencies: list[float], statuses: dict[int, int], elapsed: float) -> dict[str, Any]:
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 2) \
            if ordered else float("nan")

    return {"requests": len(ordered), "statuses": {str(k): v for k, v in statuses.items()},
            "errors": sum(v for k, v in statuses.items() if k != 200),
            "seconds": round(elapsed, 2), "rps": round(len(ordered) / elapsed, 1),
            "p50_ms": pct(0.5), "p99_ms": pct(0.99), "max_ms": pct(1.0)}


async def _closed_loop(conns: list[Connection], seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    stop_at = time.perf_counter() + seconds

    async def worker(conn: Connection) -> None:
        while (start := time.perf_counter()) < stop_at:
            status = await conn.call()
            latencies.append(time.perf_counter() - start)
            statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    return _summary(latencies, statuses, time.perf_counter() - started)


async def _open_loop(conns: list[Connection], seconds: float, rate: float) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    total = int(seconds * rate)
    t0 = time.perf_counter() + 0.05
    next_index = 0

    async def worker(conn: Connection) -> None:
        nonlocal next_index
        while next_index < total:
            scheduled = t0 + next_index / rate
            next_index += 1
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            status = await conn.call()
            latencies.append(time.perf_counter() - scheduled)  # queueing included
            statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    result = _summary(latencies, statuses, time.perf_counter() - started)
    result["target_rps"] = rate
    return result


async def loadgen(args: argparse.Namespace) -> dict[str, Any]:
    numbers = SPREAD_NUMBERS if args.mode_numbers == "spread" else [ONE_NUMBER]
    paths = [f"/v25.0/{n}/messages" for n in numbers]
    conns = [Connection(args.port, paths, args.offset + i) for i in range(args.connections)]
    await asyncio.gather(*(c.open() for c in conns))
    if args.rate:
        result = await _open_loop(conns, args.duration, args.rate)
    else:
        await _closed_loop(conns, args.warmup)
        print("mark start", flush=True)
        result = await _closed_loop(conns, args.duration)
        print("mark end", flush=True)
    for conn in conns:
        assert conn.writer is not None
        conn.writer.close()
    return result


# ---------------------------------------------------------------- servers (own processes)

def empty_server(port: int) -> None:
    import uvicorn

    app = FastAPI()

    @app.post("/v25.0/{number}/messages")
    async def messages(number: str, request: Request) -> Response:
        await request.body()
        return Response(b'{"messaging_product":"whatsapp","messages":[{"id":"wamid.X"}]}',
                        media_type="application/json")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    uvicorn.run(app, host="127.0.0.1", port=port, loop="uvloop", http="httptools",
                log_level="warning", access_log=False)


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

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_http(port: int, path: str, process: subprocess.Popen[Any], timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}{path}", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server on {port} not ready in {timeout}s")


@contextmanager
def process(command: list[str], env: dict[str, str], **popen: Any) -> Iterator[Any]:
    proc = subprocess.Popen(command, cwd=REPO, env=env, **popen)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drive(pid: int, port: int, args: argparse.Namespace, numbers: str, offset: int,
          rate: float = 0.0) -> dict[str, Any]:
    command = [sys.executable, "-m", "sandbox.bench", "loadgen", "--port", str(port),
               "--connections", str(args.connections), "--duration", str(args.duration),
               "--warmup", str(args.warmup), "--numbers", numbers, "--offset", str(offset),
               "--rate", str(rate)]
    marks: dict[str, float] = {}
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True) as gen:
        assert gen.stdout is not None
        last = ""
        for line in gen.stdout:
            if line.startswith("mark "):
                marks[line.split()[1]] = cpu_seconds(pid)
            elif line.strip():
                last = line
    if gen.returncode != 0:
        raise RuntimeError(f"load generator failed ({gen.returncode})")
    result: dict[str, Any] = json.loads(last)
    if marks:
        result["server_cpu_us_per_request"] = round(
            (marks["end"] - marks["start"]) / max(1, result["requests"]) * 1e6, 1)
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
    with process([sys.executable, "-m", "sandbox.bench", "sink", "--port", str(sink_port)],
                 env, stdout=subprocess.PIPE, text=True) as sink_proc, \
         process([sys.executable, "-m", "sandbox.bench", "empty-server", "--port",
                  str(empty_port)], env) as empty_proc, \
         process([sys.executable, "-m", "sandbox"], sandbox_env(port, sink_port)) as sandbox:
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
                "throughput_ratio": round(sat["rps"] / empty["rps"], 3),
                "cpu_efficiency_ratio": round(empty["server_cpu_us_per_request"]
                                              / sat["server_cpu_us_per_request"], 3),
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
    parser = argparse.ArgumentParser(prog="python -m sandbox.bench")
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
    result = run(args)
    text = json.dumps(result, indent=2)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"sandbox-{stamp}.json").write_text(text + "\n")


if __name__ == "__main__":
    main()
