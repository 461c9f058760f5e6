"""The launcher as a newcomer uses it: started twice, killed, or given bad configuration."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devstack.process import free_port, port_in_use
from devstack.stack import docker_available

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]


def _children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True).stdout
    pairs = [tuple(int(x) for x in line.split()) for line in out.splitlines() if line.strip()]
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        kids = [p for p, pp in pairs if pp == parent]
        found += kids
        frontier += kids
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0): count it as gone.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def _launch(
    tmp_path: Path, kafka_port: int, mongo_port: int, name: str
) -> tuple[subprocess.Popen[str], Path]:
    state = tmp_path / f"{name}.json"
    env = {
        k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URI")
    }
    env["DEVSTACK_DOCKER"] = "0"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devstack",
            "up",
            "--kafka-port",
            str(kafka_port),
            "--mongo-port",
            str(mongo_port),
            "--data-dir",
            str(tmp_path / name),
            "--state-file",
            str(state),
            "--partitions",
            "1",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, state


def _wait_for(path: Path, proc: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return
        if proc.poll() is not None:
            raise AssertionError(
                f"launcher exited early: {proc.stderr.read() if proc.stderr else ''}"
            )
        time.sleep(0.3)
    raise AssertionError("launcher did not become ready")


@pytest.mark.skipif(docker_available(), reason="with Docker, testcontainers replaces the launcher")
def test_second_launcher_on_same_ports_refuses_and_killed_launcher_leaves_nothing(tmp_path):
    kafka_port, mongo_port = free_port(), free_port()
    first, state = _launch(tmp_path, kafka_port, mongo_port, "first")
    _wait_for(state, first)
    servers = _children_of(first.pid)
    assert servers, "the launcher started no server processes"
    assert json.loads(state.read_text())["KAFKA_BOOTSTRAP_SERVERS"] == f"127.0.0.1:{kafka_port}"

    second, _ = _launch(tmp_path, kafka_port, mongo_port, "second")
    _, err = second.communicate(timeout=120)
    assert second.returncode == 2
    assert "is in use" in err
    assert len(err.strip().splitlines()) == 1, err
    assert all(_alive(pid) for pid in servers), "the second launcher disturbed the first"

    first.send_signal(
        signal.SIGKILL
    )  # no chance to clean up: the kernel must take the servers down
    first.wait(10)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(pid) for pid in servers):
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in servers), "server processes outlived a killed launcher"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (port_in_use(kafka_port) or port_in_use(mongo_port)):
        time.sleep(0.2)
    assert not port_in_use(kafka_port)
    assert not port_in_use(mongo_port)


def _check(env_overrides: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **env_overrides}
    return subprocess.run(
        [sys.executable, "-m", "shared.infra"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_unreachable_broker_fails_fast_with_one_line(infra):
    result = _check(
        {"KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}", "MONGODB_URI": infra.mongodb_uri}
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Kafka at 127.0.0.1:" in lines[0]
    assert "unreachable" in lines[0]


def test_malformed_uri_fails_fast_with_one_line(infra):
    result = _check(
        {"KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers, "MONGODB_URI": "localhost:27017"}
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "MONGODB_URI" in lines[0]


def test_reachable_infrastructure_checks_ok(infra):
    result = _check(
        {"KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers, "MONGODB_URI": infra.mongodb_uri}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok:")
