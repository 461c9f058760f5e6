"""Benchmark: signed webhooks against webhook_ingest vs an empty FastAPI endpoint, same run.

    python -m bench.webhook_ingest [--rounds 3] [--duration 6] [--connections 32]

Three processes share the machine: the server under test (``python -m services.webhook_ingest``,
or the empty endpoint, both uvicorn + uvloop + httptools), a load generator speaking raw
HTTP/1.1 over keep-alive loopback connections, and the Kafka broker the service publishes to
(acks=all: every 200 means the records are durable).

For each target: a warm-up, a closed-loop saturation run (requests/s, p50, p99), then an
open-loop run at half that rate (p50/p99 measured from each request's scheduled time, so queueing
is counted). The figure is the ratio of the two saturation throughputs. Goal: >= 0.6, and p99
< 25 ms at half of saturation. Results are printed as JSON and written to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import sys
import time
import uuid
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

SECRET = b"bench-app-secret"
PHONE_NUMBER_ID = "106540352242922"
WABA_ID = "102290129340398"
BODY_TEMPLATE = (
    '{"object":"whatsapp_business_account","entry":[{"id":"' + WABA_ID + '","changes":[{'
    '"field":"messages","value":{"messaging_product":"whatsapp","metadata":{'
    '"display_phone_number":"15550783881","phone_number_id":"' + PHONE_NUMBER_ID + '"},'
    '"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"1650555%04d"}],'
    '"messages":[{"from":"1650555%04d","id":"wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQz%s",'
    '"timestamp":"%d","type":"text","text":{"body":"Hi, is my order number %d on its way? '
    'I ordered it last week and have not heard back."}}]}}]}]}'
)


# ---------------------------------------------------------------- load generator (own process)

class Webhooks(Connection):
    """Signed webhook POSTs, each a new message."""

    def __init__(self, port: int, path: str, salt: str) -> None:
        super().__init__(port)
        self.path, self.salt = path, salt
        self.counter = 0

    def request(self) -> bytes:
        self.counter += 1
        n = self.counter
        body = (BODY_TEMPLATE % (n % 10000, n % 10000, f"{self.salt}{n:08d}", time.time(), n)
                ).encode()
        signature = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"X-Hub-Signature-256: sha256={signature}\r\n\r\n"
        )
        return head.encode() + body


async def loadgen(args: argparse.Namespace) -> dict[str, Any]:
    salt = uuid.uuid4().hex[:8]
    conns = [Webhooks(args.port, args.path, f"{salt}{i:03d}") for i in range(args.connections)]
    await asyncio.gather(*(c.open() for c in conns))
    await closed_loop(conns, args.warmup)
    print("mark saturation-start", flush=True)
    saturation = (await closed_loop(conns, args.duration)).summary()
    print("mark saturation-end", flush=True)
    half = (await open_loop(conns, args.duration, saturation["rps"] / 2)).summary()
    half["target_rps"] = round(saturation["rps"] / 2, 1)
    for conn in conns:
        conn.close()
    return {"saturation": saturation, "half_load": half}


# ---------------------------------------------------------------- the empty baseline (own process)

def empty_server(port: int) -> None:
    serve_empty(port, "/webhook", b'{"status":"ok","events":1}')


# ---------------------------------------------------------------- orchestration

def drive(server_pid: int, port: int, path: str, args: argparse.Namespace,
          also_watch: dict[str, int] | None = None) -> dict[str, Any]:
    """Run the load generator; measure the server's CPU time during the saturation phase."""
    command = [sys.executable, "-m", "bench.webhook_ingest", "loadgen", "--port", str(port),
               "--path", path, "--connections", str(args.connections),
               "--duration", str(args.duration), "--warmup", str(args.warmup)]
    watched = {"server": server_pid, **(also_watch or {})}
    result, marks = run_loadgen(command, watched)
    saturation = result["saturation"]
    start, end = marks["saturation-start"], marks["saturation-end"]
    saturation["server_cpu_us_per_request"] = round(
        (end["server"] - start["server"]) / max(1, saturation["requests"]) * 1e6, 1)
    for name in also_watch or {}:
        saturation[f"{name}_cpu_share"] = round(
            (end[name] - start[name]) / saturation["seconds"], 2)
    return result


def kafka_pid(stack: Any) -> int | None:
    """The broker's process when the stack started it here, to report its CPU share."""
    process = getattr(getattr(stack, "kafka", None), "process", None)
    pid = getattr(process, "pid", None) if process is not None else None
    return pid if isinstance(pid, int) else None


def prepare(stack: Any, database: str) -> None:
    from pymongo import MongoClient

    from shared.channels import Channel

    client: MongoClient[dict[str, Any]] = MongoClient(stack.mongodb_uri)
    try:
        channel = Channel(phone_number_id=PHONE_NUMBER_ID, tenant_id="bench", waba_id=WABA_ID)
        client[database]["channels"].insert_one(channel.to_document())
    finally:
        client.close()


def cleanup(stack: Any, database: str) -> None:
    from pymongo import MongoClient

    client: MongoClient[dict[str, Any]] = MongoClient(stack.mongodb_uri)
    try:
        client.drop_database(database)
    finally:
        client.close()


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Both servers up side by side; alternate the load between them for ``args.rounds`` rounds.

    Alternating pairs each ingest measurement with an empty-endpoint one taken moments before,
    so drifting background load on a shared machine affects both; medians are reported.
    """
    from devstack.stack import local_stack

    base_env = {**os.environ, "PYTHONPATH": str(REPO), "LOG_LEVEL": "WARNING"}
    rounds: list[dict[str, Any]] = []
    with local_stack() as stack:
        name = f"bench{uuid.uuid4().hex[:8]}"
        prepare(stack, name)
        empty_port, ingest_port = free_port(), free_port()
        env = {**base_env, **stack.env(),
               "MONGODB_DATABASE": name, "KAFKA_TOPIC_PREFIX": f"{name}.",
               "WEBHOOK_INGEST_APP_SECRETS": SECRET.decode(),
               "WEBHOOK_INGEST_VERIFY_TOKEN": "bench", "WEBHOOK_INGEST_PORT": str(ingest_port)}
        broker = kafka_pid(stack)
        try:
            with child([sys.executable, "-m", "bench.webhook_ingest", "empty-server", "--port",
                        str(empty_port)], base_env) as empty_server, \
                 child([sys.executable, "-m", "services.webhook_ingest"], env) as ingest_server:
                wait_http(empty_port, "/healthz", empty_server)
                wait_http(ingest_port, "/readyz", ingest_server)
                for _ in range(args.rounds):
                    empty = drive(empty_server.pid, empty_port, "/webhook", args)
                    ingest = drive(ingest_server.pid, ingest_port, "/webhook", args,
                                   {"kafka": broker} if broker else None)
                    rounds.append(_round(empty, ingest))
        finally:
            cleanup(stack, name)
    throughput = median(r["throughput_ratio"] for r in rounds)
    half_p99 = median(r["webhook_ingest"]["half_load"]["p99_ms"] for r in rounds)
    return {
        "benchmark": "webhook_ingest",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "connections": args.connections,
        "duration_s": args.duration,
        "rounds": rounds,
        "median": {
            "empty_fastapi_rps": median(r["empty_fastapi"]["saturation"]["rps"] for r in rounds),
            "webhook_ingest_rps": median(r["webhook_ingest"]["saturation"]["rps"] for r in rounds),
            "empty_fastapi_cpu_us_per_request": median(
                r["empty_fastapi"]["saturation"]["server_cpu_us_per_request"] for r in rounds),
            "webhook_ingest_cpu_us_per_request": median(
                r["webhook_ingest"]["saturation"]["server_cpu_us_per_request"] for r in rounds),
            "webhook_ingest_half_load_p50_ms": median(
                r["webhook_ingest"]["half_load"]["p50_ms"] for r in rounds),
            "webhook_ingest_half_load_p99_ms": half_p99,
            "empty_fastapi_half_load_p99_ms": median(
                r["empty_fastapi"]["half_load"]["p99_ms"] for r in rounds),
            "throughput_ratio": throughput,
            # Less sensitive to other load on the machine: server CPU per request, empty/ingest.
            "cpu_efficiency_ratio": median(r["cpu_efficiency_ratio"] for r in rounds),
        },
        "goals": {"throughput_ratio_min": 0.6, "half_load_p99_ms_max": 25.0,
                  "met": throughput >= 0.6 and half_p99 < 25.0},
    }


def _round(empty: dict[str, Any], ingest: dict[str, Any]) -> dict[str, Any]:
    return {
        "empty_fastapi": empty,
        "webhook_ingest": ingest,
        "throughput_ratio": ratio(ingest["saturation"]["rps"], empty["saturation"]["rps"]),
        "cpu_efficiency_ratio": ratio(empty["saturation"]["server_cpu_us_per_request"],
                                      ingest["saturation"]["server_cpu_us_per_request"]),
    }


def main() -> None:
    parser = arguments(__doc__, prog="python -m bench.webhook_ingest")
    parser.add_argument("mode", nargs="?", default="run",
                        choices=["run", "loadgen", "empty-server"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--path", default="/webhook")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=6.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.mode == "empty-server":
        empty_server(args.port)
        return
    if args.mode == "loadgen":
        try:
            import uvloop

            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        except ImportError:
            pass
        print(json.dumps(asyncio.run(loadgen(args))))
        return
    report("webhook_ingest", run(args))


if __name__ == "__main__":
    main()
