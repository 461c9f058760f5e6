"""docker-compose.yml, checked as `docker compose config` would and beyond, without a Docker
engine (none where CI runs): only keys the Compose specification defines, pinned images, a
healthcheck on every long-running service, a start order that waits for health, dependencies
that exist and form no cycle, and topics created by the project's own code."""

from __future__ import annotations

import re
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]

# The Compose specification's top-level and service keys (of the kinds this file may use);
# a misspelt key is an error for `docker compose config`, so it is one here.
TOP_LEVEL = {"name", "services", "volumes", "networks", "configs", "secrets", "include"}
SERVICE_KEYS = {
    "build", "image", "command", "entrypoint", "environment", "env_file", "depends_on",
    "healthcheck", "ports", "volumes", "restart", "working_dir", "user", "read_only",
    "deploy", "networks", "profiles", "stop_grace_period", "init", "tmpfs", "cap_drop",
    "security_opt", "labels", "container_name", "pull_policy", "expose",
}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
HEALTHCHECK_KEYS = {"test", "interval", "timeout", "retries", "start_period", "start_interval",
                    "disable"}
# One-shot jobs: they exit when done; others wait for their successful completion.
JOBS = {"topics", "demo"}
# The product's own services and the port each serves /healthz on.
PORT_VARIABLE = {
    "webhook_ingest": "WEBHOOK_INGEST_PORT", "inbox_api": "INBOX_API_PORT",
    "conversation_store": "CONVERSATION_STORE_PORT", "outbound_sender": "OUTBOUND_SENDER_PORT",
    "sandbox": "SANDBOX_PORT",
}


def _depends(service: dict[str, Any]) -> dict[str, str]:
    return {name: spec["condition"] for name, spec in (service.get("depends_on") or {}).items()}


def test_uses_only_keys_the_specification_defines():
    assert set(COMPOSE) - {k for k in COMPOSE if k.startswith("x-")} <= TOP_LEVEL
    for name, service in SERVICES.items():
        assert set(service) <= SERVICE_KEYS, name
        assert set(service.get("healthcheck", {})) <= HEALTHCHECK_KEYS, name
        assert isinstance(service.get("environment", {}), dict), name


@pytest.mark.parametrize("name", sorted(SERVICES))
class TestService:
    def test_image_is_pinned_or_built_here(self, name):
        service = SERVICES[name]
        if "build" in service:
            assert (ROOT / service["build"] / "Dockerfile").is_file()
            return
        image = service["image"]
        repository, _, tag = image.partition("@")[0].rpartition(":")
        assert repository, image
        assert re.fullmatch(r"\d+\.\d+\.\d+", tag), image

    def test_long_running_services_report_health(self, name):
        check = SERVICES[name]["healthcheck"]
        if name in JOBS:
            assert check == {"disable": True}
            assert SERVICES[name]["restart"] == "no"
            return
        assert check["test"][0] in ("CMD", "CMD-SHELL")
        assert check["retries"] >= 1

    def test_probes_the_port_the_service_listens_on(self, name):
        if name not in PORT_VARIABLE:
            return
        service = SERVICES[name]
        port = service["environment"][PORT_VARIABLE[name]]
        assert service["healthcheck"]["test"] == [
            "CMD", "python", "/usr/local/bin/inbox-healthcheck", port]

    def test_waits_for_what_it_needs(self, name):
        for dependency, condition in _depends(SERVICES[name]).items():
            assert dependency in SERVICES, dependency
            assert condition in CONDITIONS
            if dependency in JOBS:
                assert condition == "service_completed_successfully"
            else:  # never only "started": a started broker or database may not answer yet
                assert condition == "service_healthy"
                assert not SERVICES[dependency]["healthcheck"].get("disable")

    def test_runs_nothing_unpinned_at_start(self, name):
        command = SERVICES[name].get("command", [])
        text = command if isinstance(command, str) else " ".join(command)
        assert "pip install" not in text
        # No source mounted over the image: what runs is what was built.
        assert all(not str(v).startswith(".") for v in SERVICES[name].get("volumes", []))


def test_start_order_has_no_cycle_and_everything_waits_for_its_infrastructure():
    graph = {name: set(_depends(s)) for name, s in SERVICES.items()}
    order = list(TopologicalSorter(graph).static_order())
    assert order.index("kafka") < order.index("topics")
    for name in ("webhook_ingest", "conversation_store", "outbound_sender", "inbox_api"):
        assert _depends(SERVICES[name])["topics"] == "service_completed_successfully"
        assert _depends(SERVICES[name])["mongo"] == "service_healthy"
    assert _depends(SERVICES["inbox_api"])["demo"] == "service_completed_successfully"
    assert _depends(SERVICES["topics"]) == {"kafka": "service_healthy"}


def test_topics_are_created_by_the_projects_code():
    topics = SERVICES["topics"]
    assert "build" in topics
    assert topics["command"] == ["python", "-m", "devstack.topics"]
