"""The Dockerfile, read offline (no Docker engine where CI runs): one multi-stage recipe on the
project's Python, pinned, non-root, with a healthcheck and the pinned dependencies; it holds every
module that docker-compose and the manifests run, and everything those modules import."""

from __future__ import annotations

import http.server
import importlib.util
import re
import socket
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.unit.deploy.image import copied_files, missing_imports, module_file, parse
from tests.unit.deploy.kustomize import render

ROOT = Path(__file__).resolve().parents[3]
ARGS, STAGES = parse(ROOT / "Dockerfile")
FINAL = STAGES[-1]
FILES = copied_files(ROOT, FINAL)
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCK = ROOT / "deploy" / "image" / "requirements.lock"


def _load_healthcheck() -> Any:
    # A script copied into the image, not a package module: load it from its file.
    spec = importlib.util.spec_from_file_location(
        "inbox_healthcheck", ROOT / "deploy" / "image" / "healthcheck.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


healthcheck = _load_healthcheck()


def _entries() -> dict[str, str]:
    """Every ``python -m X`` the image is asked to run, by where it is asked."""
    entries: dict[str, str] = {}
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        if "build" in service:
            command = service["command"]
            assert command[:2] == ["python", "-m"], name
            entries[f"compose {name}"] = command[2]
    for overlay in ("base", "overlays/production"):
        for obj in render(ROOT / "deploy" / overlay):
            if obj["kind"] == "Deployment":
                command = obj["spec"]["template"]["spec"]["containers"][0]["command"]
                entries[f"{overlay} {obj['metadata']['name']}"] = command[2]
    cmd = [i for k, i in FINAL.instructions if k == "CMD"][-1]
    entries["Dockerfile CMD"] = yaml.safe_load(cmd)[2]
    return entries


ENTRIES = _entries()


def _instructions(keyword: str) -> list[str]:
    return [rest for k, rest in FINAL.instructions if k == keyword]


class TestRecipe:
    def test_every_stage_is_the_projects_python_at_an_exact_tag(self):
        target = PYPROJECT["tool"]["mypy"]["python_version"]
        assert PYPROJECT["project"]["requires-python"] == f">={target}"
        assert len(STAGES) >= 2  # build tools stay in the build stage
        for stage in STAGES:
            match = re.fullmatch(r"python:(\d+)\.(\d+)\.(\d+)-slim(-\w+)?(@sha256:[0-9a-f]{64})?",
                                 stage.base)
            assert match, stage.base
            assert f"{match[1]}.{match[2]}" == target

    def test_runs_as_a_numeric_non_root_user(self):
        [user] = _instructions("USER")
        uid = user.split(":")[0]
        assert uid.isdigit()
        assert int(uid) != 0
        keywords = [k for k, _ in FINAL.instructions]
        assert keywords.index("USER") < keywords.index("CMD")

    def test_has_a_healthcheck_that_the_image_holds(self):
        [check] = _instructions("HEALTHCHECK")
        assert "CMD" in check
        assert "/usr/local/bin/inbox-healthcheck" in check
        assert "deploy/image/healthcheck.py /usr/local/bin/inbox-healthcheck" in _instructions(
            "COPY")

    def test_installs_exactly_the_lock(self):
        build = "\n".join(rest for stage in STAGES[:-1] for _, rest in stage.instructions)
        assert "pip install" in build
        assert "--no-deps -r /tmp/requirements.lock" in build
        assert "deploy/image/requirements.lock" in build

    def test_copies_sources_to_the_same_paths(self):
        for rest in _instructions("COPY"):
            if rest.startswith("--from") or rest.split()[-1].startswith("/"):
                continue
            *sources, dest = rest.split()
            for source in sources:
                assert (ROOT / source).exists(), source
                assert dest.removeprefix("./").rstrip("/") in (source, source.rsplit("/", 1)[0])

    def test_leaves_out_the_local_launchers(self):
        assert module_file("devstack.kafka", FILES) is None
        assert module_file("devstack.stack", FILES) is None


class TestLock:
    LINES: ClassVar[list[str]] = [
        line for line in LOCK.read_text().splitlines() if line and not line.startswith("#")
    ]

    def test_pins_every_package(self):
        for line in self.LINES:
            assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][\w.\-+]*", line), line

    def test_satisfies_every_dependency_of_the_project(self):
        pinned = {
            canonicalize_name(n): v for n, v in (line.split("==") for line in self.LINES)
        }
        for spec in PYPROJECT["project"]["dependencies"]:
            requirement = Requirement(spec)
            name = canonicalize_name(requirement.name)
            assert name in pinned, f"{name} is not in {LOCK.name}: refresh it (docs/deploy.md)"
            assert requirement.specifier.contains(pinned[name], prereleases=True), (
                f"{name}=={pinned[name]} does not satisfy {spec}")


@pytest.mark.parametrize("entry", sorted(ENTRIES), ids=sorted(ENTRIES))
def test_the_image_holds_every_module_it_is_asked_to_run(entry):
    module = ENTRIES[entry]
    assert module_file(module, FILES), f"{entry}: {module} is not copied into the image"
    assert missing_imports(ROOT, module, FILES) == set(), entry


def test_every_entry_is_run_somewhere():
    assert set(ENTRIES.values()) >= {
        "services.webhook_ingest", "services.inbox_api", "services.conversation_store",
        "services.outbound_sender", "sandbox", "devstack.demo", "devstack.topics"}


class TestHealthcheck:
    def test_probes_the_port_given(self):
        assert healthcheck.health_url(["8083"], {}) == "http://127.0.0.1:8083/healthz"

    def test_probes_the_entry_own_port(self):
        env = {"SANDBOX_PORT": "8090", "PATH": "/usr/bin"}
        assert healthcheck.health_url([], env) == "http://127.0.0.1:8090/healthz"
        assert healthcheck.health_url([], {}) == "http://127.0.0.1:8081/healthz"

    @pytest.fixture
    def server(self) -> Iterator[tuple[int, list[str]]]:
        paths: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                paths.append(self.path)
                self.send_response(200 if self.path == "/healthz" else 404)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        yield httpd.server_address[1], paths
        httpd.shutdown()
        httpd.server_close()

    def test_healthy_when_healthz_answers(self, server):
        port, paths = server
        assert healthcheck.main([str(port)], {}) == 0
        assert paths == ["/healthz"]

    def test_unhealthy_when_nothing_listens(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        # Released: nothing listens there now.
        assert healthcheck.main([str(port)], {}) == 1
        assert healthcheck.main([], {"SANDBOX_PORT": str(port)}) == 1


def test_a_module_left_out_of_the_image_is_found():
    without_sandbox = {f for f in FILES if not f.startswith("sandbox/")}
    assert module_file("sandbox", without_sandbox) is None
    # devstack.demo imports the sandbox's catalog: the image would fail at the import.
    assert "sandbox.catalog" in missing_imports(ROOT, "devstack.demo", without_sandbox)
