"""The Kubernetes manifests and docker-compose use variable names the services really read, and
every Deployment carries probes, resources, a disruption budget and an autoscaler."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

import services
from shared.config import InfraSettings
from tests.unit.deploy.kustomize import render

ROOT = Path(__file__).resolve().parents[2]


def _documents() -> list[dict[str, Any]]:
    # What production applies: the base and the overlay (its ExternalSecret names the secrets).
    return render(ROOT / "deploy" / "overlays" / "production")


def _settings_classes() -> set[type[BaseSettings]]:
    for module in pkgutil.iter_modules(services.__path__):
        if module.ispkg:
            importlib.import_module(f"services.{module.name}.main")
    importlib.import_module("sandbox.main")  # compose runs it too (not only when other tests did)
    found: set[type[BaseSettings]] = set()
    frontier: list[type[BaseSettings]] = [InfraSettings]
    while frontier:
        cls = frontier.pop()
        found.add(cls)
        frontier += cls.__subclasses__()
    return found


def _env_names(cls: type[BaseSettings]) -> set[str]:
    prefix = str(cls.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {str(c) for c in alias.choices if isinstance(c, str) and c.isupper()}
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def _known_names() -> set[str]:
    return set().union(*(_env_names(c) for c in _settings_classes()))


def test_every_variable_in_the_manifests_is_read_by_a_service():
    known = _known_names()
    used: set[str] = set()
    for doc in _documents():
        if doc["kind"] in ("ConfigMap", "Secret"):
            used |= set(doc.get("data", {}) or {}) | set(doc.get("stringData", {}) or {})
        if doc["kind"] == "ExternalSecret":
            used |= {item["secretKey"] for item in doc["spec"]["data"]}
        if doc["kind"] == "Deployment":
            for container in doc["spec"]["template"]["spec"]["containers"]:
                used |= {e["name"] for e in container.get("env", [])}
    assert used - known == set()


def test_every_variable_in_docker_compose_is_read_by_a_service():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    known = _known_names()
    for name, service in compose["services"].items():
        if name in ("kafka", "mongo"):
            continue  # the servers' own images
        env = service.get("environment") or {}
        used = {k for k in env if not k.startswith("PYTHON")}
        assert used - known == set(), name


DEPLOYMENTS = [d for d in _documents() if d["kind"] == "Deployment"]


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d["metadata"]["name"])
def test_deployment_is_operable(deployment):
    name = deployment["metadata"]["name"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"]["cpu"]
    assert container["resources"]["limits"]["memory"]
    assert container["command"][:2] == ["python", "-m"]
    importlib.import_module(container["command"][2])  # the module it runs exists
    kinds = {(d["kind"], d["metadata"]["name"]) for d in _documents()}
    assert ("PodDisruptionBudget", name) in kinds
    assert ("HorizontalPodAutoscaler", name) in kinds
