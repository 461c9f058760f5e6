"""Where a Docker engine is reachable: `docker compose` accepts the file, builds the image, and
every service of the product comes up healthy in its start order. Skipped where there is none
(this project's CI): tests/unit/deploy checks the same files offline there."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
LONG_RUNNING = {"kafka", "mongo", "webhook_ingest", "conversation_store", "outbound_sender",
                "sandbox", "inbox_api"}


def _docker_engine() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


@pytest.fixture(scope="module")
def compose() -> Iterator[list[str]]:
    if not _docker_engine():
        pytest.skip("no Docker engine here; tests/unit/deploy validates the files offline")
    command = ["docker", "compose", "--project-directory", str(ROOT),
               "-p", f"inbox-{uuid.uuid4().hex[:8]}"]
    try:
        yield command
    finally:
        subprocess.run([*command, "down", "-v", "--remove-orphans"], check=False)


@pytest.mark.timeout(1800)
def test_builds_and_starts_healthy(compose):
    subprocess.run([*compose, "config", "--quiet"], check=True)
    subprocess.run([*compose, "up", "--build", "--detach", "--wait", "--wait-timeout", "600"],
                   check=True)
    listed = subprocess.run([*compose, "ps", "--all", "--format", "json"], check=True,
                            capture_output=True, text=True).stdout
    states = [json.loads(line) for line in listed.splitlines() if line.strip()]
    health = {s["Service"]: s.get("Health") or s["State"] for s in states}
    for name in LONG_RUNNING:
        assert health[name] == "healthy", health
    exits = {s["Service"]: s.get("ExitCode") for s in states if s["Service"] in {"topics", "demo"}}
    assert exits == {"topics": 0, "demo": 0}
