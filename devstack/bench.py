"""The harness the benches share (bench/*.py, sandbox/bench.py): what each of them used to repeat.

Starting the infrastructure, child processes and waiting for them, CPU time from /proc, a
closed-loop and an open-loop driver over keep-alive HTTP/1.1 connections, a load generator in its
own process whose CPU marks are read from its output, percentiles, and the result: printed as
JSON and written to ``bench/results/NAME-STAMP.json``. The figures stay each bench's own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from devstack.stack import RunningStack, local_stack

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"

T = TypeVar("T")


def arguments(doc: str | None, prog: str | None = None) -> argparse.ArgumentParser:
    """A bench's argument parser, described by the first line of its docstring."""
    return argparse.ArgumentParser(prog=prog, description=(doc or "").splitlines()[0] or None)


def on_local_stack(bench: Callable[[RunningStack], Coroutine[Any, Any, T]]) -> T:
    """Run an async bench with Kafka and the database up (devstack, or the configured servers)."""
    with local_stack() as stack:
        return asyncio.run(bench(stack))


def report(name: str, results: dict[str, Any]) -> None:
    """Print the results as JSON and keep them in ``bench/results/``."""
    text = json.dumps(results, indent=2)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"{name}-{stamp}.json").write_text(text + "\n")


def ratio(numerator: float, denominator: float, digits: int = 3) -> float:
    return round(numerator / denominator, digits)


def percentile(values: Sequence[float], q: float) -> float:
    """The value at index ``int(q * n)`` of the sorted values (the last one for q = 1)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ---------------------------------------------------------------- processes

def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time a process has used (Linux /proc); 0 when it is gone."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def stop(process: subprocess.Popen[Any], timeout: float = 30) -> None:
    """SIGTERM, then SIGKILL after ``timeout`` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def child(command: list[str], env: dict[str, str], **popen: Any) -> Iterator[Any]:
    """A process started in the repository, stopped on the way out."""
    process = subprocess.Popen(command, cwd=REPO, env=env, **popen)
    try:
        yield process
    finally:
        stop(process)


def wait_http(port: int, path: str, process: subprocess.Popen[Any], timeout: float = 60) -> None:
    """Until ``GET path`` on loopback answers 200; fails if the process exits first."""
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


def run_loadgen(command: list[str], watched: dict[str, int]
                ) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    """Run a load generator in its own process; its last line is its JSON result.

    Each ``mark NAME`` line it prints records the watched processes' CPU time at that moment.
    """
    marks: dict[str, dict[str, float]] = {}
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True) as loadgen:
        assert loadgen.stdout is not None
        last = ""
        for line in loadgen.stdout:
            if line.startswith("mark "):
                marks[line.split()[1]] = {name: cpu_seconds(pid) for name, pid in watched.items()}
            elif line.strip():
                last = line
    if loadgen.returncode != 0:
        raise RuntimeError(f"load generator failed ({loadgen.returncode})")
    result: dict[str, Any] = json.loads(last)
    return result, marks


# ---------------------------------------------------------------- load generation (HTTP/1.1)

async def read_response(reader: asyncio.StreamReader) -> int:
    """One HTTP/1.1 response read whole (Content-Length framing); its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return int(head[9:12])


class Caller(Protocol):
    async def call(self) -> int: ...


class Connection:
    """One keep-alive HTTP/1.1 connection sending pre-framed requests (``request`` frames them)."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def request(self) -> bytes:
        raise NotImplementedError

    async def call(self) -> int:
        assert self.reader is not None
        assert self.writer is not None
        self.writer.write(self.request())
        return await read_response(self.reader)

    def close(self) -> None:
        assert self.writer is not None
        self.writer.close()


def serve_empty(port: int, path: str, answer: bytes) -> None:
    """The baseline server: ``POST path`` reads the body and answers ``answer`` (JSON), plus
    ``GET /healthz``; FastAPI under uvicorn with uvloop and httptools, as the services run."""
    import uvicorn
    from fastapi import FastAPI, Request, Response

    app = FastAPI()

    async def endpoint(request: Request) -> Response:
        await request.body()
        return Response(answer, media_type="application/json")

    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.add_api_route(path, endpoint, methods=["POST"])
    app.add_api_route("/healthz", healthz, methods=["GET"])
    uvicorn.run(app, host="127.0.0.1", port=port, loop="uvloop", http="httptools",
                log_level="warning", access_log=False)


@dataclass
class Samples:
    """Latencies (seconds) and statuses of one loop over the connections."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    elapsed: float = 0.0

    def milliseconds(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return round(percentile(ordered, q) * 1000, 2) if ordered else float("nan")

    def summary(self) -> dict[str, Any]:
        """Requests, statuses, errors (anything but 200), rate and latency percentiles."""
        count, elapsed = len(self.latencies), self.elapsed
        return {"requests": count, "statuses": {str(k): v for k, v in self.statuses.items()},
                "errors": sum(v for k, v in self.statuses.items() if k != 200),
                "seconds": round(elapsed, 2), "rps": round(count / elapsed, 1) if elapsed else 0.0,
                "p50_ms": self.milliseconds(0.50), "p99_ms": self.milliseconds(0.99),
                "max_ms": self.milliseconds(1.0)}


async def closed_loop(conns: Sequence[Caller], seconds: float) -> Samples:
    """Each connection sends its next request as soon as the last is answered."""
    samples = Samples()
    stop_at = time.perf_counter() + seconds

    async def worker(conn: Caller) -> None:
        while (start := time.perf_counter()) < stop_at:
            status = await conn.call()
            samples.latencies.append(time.perf_counter() - start)
            samples.statuses[status] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    samples.elapsed = time.perf_counter() - started
    return samples


async def open_loop(conns: Sequence[Caller], seconds: float, rate: float) -> Samples:
    """Requests scheduled at ``rate``/s; latency counted from the schedule (queueing included)."""
    samples = Samples()
    total = int(seconds * rate)
    t0 = time.perf_counter() + 0.05
    next_index = 0

    async def worker(conn: Caller) -> None:
        nonlocal next_index
        while next_index < total:
            scheduled = t0 + next_index / rate
            next_index += 1
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            status = await conn.call()
            samples.latencies.append(time.perf_counter() - scheduled)
            samples.statuses[status] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    samples.elapsed = time.perf_counter() - started
    return samples
