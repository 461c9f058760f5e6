"""docs/operations.md lists every setting the code reads, and deploy/ provides each one.

The variable names are derived from the settings classes themselves (``model_fields``, the
``env_prefix`` and the validation aliases), never from a hand-kept list: a new field without a
row in the doc fails here. Each row's "Deploy" column says where production gets the value; the
test checks the claim against deploy/ (ConfigMap, Deployment env, the Secret's keys), and only a
row marked "default used in deploy" may be absent from all of them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from services.conversation_store.settings import ConversationStoreSettings
from services.inbox_api.settings import InboxApiSettings
from services.outbound_sender.settings import OutboundSenderSettings
from services.webhook_ingest.settings import WebhookIngestSettings
from shared.config import InfraSettings
from shared.tracing import TracingSettings

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "operations.md"
BASE = ROOT / "deploy" / "base"
EXTERNAL_SECRET = ROOT / "deploy" / "overlays" / "production" / "external-secret.yaml"

# Every settings class a deployed process builds (the sandbox is a dev tool, not deployed);
# ServiceSettings' fields (CHANNEL_TOKEN_KEYS, LOG_LEVEL, ...) come through the services' classes.
SETTINGS_CLASSES: tuple[type[BaseSettings], ...] = (
    InfraSettings,
    TracingSettings,
    WebhookIngestSettings,
    ConversationStoreSettings,
    OutboundSenderSettings,
    InboxApiSettings,
)
DEFAULT_MARK = "default used in deploy"
SECRET_LIKE = re.compile(r"TOKEN|SECRET|KEY|PASSWORD|URI")
_ROW = re.compile(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|(.*)\|\s*$")


def env_names(field_name: str, info: FieldInfo, prefix: str) -> list[str]:
    """The environment variable(s) pydantic-settings reads for one field."""
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        names = [c for c in alias.choices if isinstance(c, str) and c == c.upper()]
        assert names, f"{field_name}: no upper-case environment alias in {alias.choices}"
        return names
    if isinstance(alias, str):
        return [alias.upper()]
    if info.alias:
        return [info.alias.upper()]
    return [f"{prefix}{field_name}".upper()]


def code_settings() -> dict[str, tuple[FieldInfo, type[BaseSettings]]]:
    found: dict[str, tuple[FieldInfo, type[BaseSettings]]] = {}
    for cls in SETTINGS_CLASSES:
        prefix = str(cls.model_config.get("env_prefix", "") or "")
        for name, info in cls.model_fields.items():
            for env in env_names(name, info, prefix):
                found.setdefault(env, (info, cls))
    return found


def doc_rows() -> dict[str, list[str]]:
    """``VARIABLE -> [default, meaning, deploy]`` from the doc's settings tables."""
    rows: dict[str, list[str]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line.strip())
        if match is None:
            continue
        cells = [c.strip() for c in match.group(2).split("|")]
        assert len(cells) == 3, f"row {match.group(1)}: want Default | Meaning | Deploy: {line}"
        assert match.group(1) not in rows, f"{match.group(1)} has two rows in docs/operations.md"
        rows[match.group(1)] = cells
    return rows


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if isinstance(d, dict)]


def deploy_sources() -> dict[str, set[str]]:
    """Variable names by where deploy/ sets them: configmap, deployment, secret."""
    sources: dict[str, set[str]] = {"configmap": set(), "deployment": set(), "secret": set()}
    for path in sorted(BASE.glob("*.yaml")):
        for doc in _documents(path):
            if doc.get("kind") == "ConfigMap":
                sources["configmap"].update(doc.get("data") or {})
            if doc.get("kind") != "Deployment":
                continue
            for container in doc["spec"]["template"]["spec"]["containers"]:
                for env in container.get("env") or []:
                    ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                    sources["secret" if ref else "deployment"].add(env["name"])
    for doc in _documents(EXTERNAL_SECRET):
        for item in doc["spec"].get("data") or []:
            sources["secret"].add(item["secretKey"])
    return sources


def _render(default: object) -> str | None:
    """The doc's spelling of a simple default (None: not compared)."""
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, int | float):
        return repr(default)
    if isinstance(default, str):
        return default or '""'
    return None


def test_every_setting_read_by_the_code_is_documented() -> None:
    missing = sorted(set(code_settings()) - set(doc_rows()))
    assert not missing, f"settings missing from docs/operations.md: {missing}"


def test_the_doc_lists_no_setting_the_code_does_not_read() -> None:
    stale = sorted(set(doc_rows()) - set(code_settings()))
    assert not stale, f"docs/operations.md documents settings no class reads: {stale}"


def test_documented_defaults_match_the_code() -> None:
    rows = doc_rows()
    wrong: list[str] = []
    for env, (info, _cls) in code_settings().items():
        if env not in rows or info.is_required() or info.default_factory is not None:
            continue
        if isinstance(info.default, SecretStr):
            continue
        expected = _render(info.default)
        written = rows[env][0].replace("`", "").replace("_", "").replace(",", "").strip()
        if expected is not None and written != expected.replace("_", ""):
            wrong.append(f"{env}: doc says {rows[env][0]!r}, code {expected!r}")
    assert not wrong, "\n".join(wrong)


def test_meanings_are_written() -> None:
    empty = sorted(env for env, cells in doc_rows().items() if len(cells[1]) < 8)
    assert not empty, f"settings without a meaning in docs/operations.md: {empty}"


@pytest.mark.parametrize("env", sorted(code_settings()))
def test_deploy_provides_the_setting_or_the_doc_says_the_default_is_used(env: str) -> None:
    rows = doc_rows()
    assert env in rows, f"{env} is not in docs/operations.md"
    claim = rows[env][2].replace("`", "").strip().lower()
    sources = deploy_sources()
    info, _cls = code_settings()[env]
    where = {name for name, names in sources.items() if env in names}
    if SECRET_LIKE.search(env):
        assert "secret" in where, f"{env} looks secret: it must come from inbox-secrets"
        assert where == {"secret"}, f"{env} looks secret: never a plain value in deploy/base"
    if claim == DEFAULT_MARK:
        assert not info.is_required(), f"{env} is required: deploy must provide it"
        assert not where, f"{env} is set in deploy ({where}): the doc's column must say where"
        return
    assert claim in sources, (
        f"{env}: Deploy column {rows[env][2]!r} is not ConfigMap, Deployment, Secret or "
        f"{DEFAULT_MARK!r}")
    assert claim in where, f"{env}: the doc says {claim}, but deploy/ sets it in {where or 'none'}"


def test_the_secret_names_each_key_once() -> None:
    keys = [item["secretKey"] for doc in _documents(EXTERNAL_SECRET)
            for item in doc["spec"].get("data") or []]
    assert len(keys) == len(set(keys)), f"keys listed twice in the ExternalSecret: {keys}"
