"""inbox_api's layout rule (CONTRIBUTING.md, "inbox_api: one package per feature"), checked:

- in a feature package only ``repository.py`` talks to the database and only ``routes.py`` knows
  HTTP (other I/O clients live in ``adapters/``);
- a ``repository.py`` is an adapter: only a composition root or another repository imports it;
- a feature imports ``accounts/`` and, of another feature, only its pure modules (never its
  routes, use cases, ports or repository); ``accounts/`` imports no feature.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVICE = Path(__file__).resolve().parents[3] / "services" / "inbox_api"
PREFIX = "services.inbox_api."
FEATURES = sorted(p.name for p in SERVICE.iterdir()
                  if (p / "__init__.py").exists() and p.name != "adapters")
DATABASE = ("pymongo", "motor")
CLIENTS = ("httpx", "aiokafka")
HTTP = ("fastapi", "starlette")
# A feature's modules that are not pure: another feature must not depend on them.
SHELL = {"routes", "service", "commands", "ports", "repository"}
BASE = "accounts"
COMPOSITION_ROOTS = {"main.py", "__main__.py", "admin.py"}


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            # ``from package import module`` names the module too.
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def modules(feature: str) -> list[Path]:
    return sorted((SERVICE / feature).glob("*.py"))


def test_the_features_are_the_packages() -> None:
    assert {"accounts", "campaigns", "conversations", "templates"} <= set(FEATURES)


@pytest.mark.parametrize("feature", FEATURES)
def test_only_the_repository_and_the_routes_do_io(feature: str) -> None:
    found = []
    for path in modules(feature):
        for name in imports(path):
            top = name.split(".")[0]
            if ((top in DATABASE and path.stem != "repository") or top in CLIENTS
                    or (top in HTTP and path.stem != "routes")):
                found.append(f"{feature}/{path.name} imports {name}")
    assert found == [], "database code in repository.py, HTTP in routes.py, clients in " \
                        "adapters/:\n" + "\n".join(found)


@pytest.mark.parametrize("feature", FEATURES)
def test_a_feature_uses_only_the_pure_modules_of_another(feature: str) -> None:
    found = []
    for path in modules(feature):
        for name in imports(path):
            parts = name.removeprefix(PREFIX).split(".")
            if not name.startswith(PREFIX) or parts[0] not in FEATURES or parts[0] == feature:
                continue
            if feature == BASE or (parts[0] != BASE and (len(parts) < 2 or parts[1] in SHELL)):
                found.append(f"{feature}/{path.name} imports {name}")
    assert found == [], "\n".join(found)


def test_only_a_composition_root_or_a_repository_imports_a_repository() -> None:
    found = sorted(
        f"{path.relative_to(SERVICE)} imports {name}"
        for path in SERVICE.rglob("*.py")
        if path.name not in COMPOSITION_ROOTS and path.name != "repository.py"
        for name in imports(path)
        if name.startswith(PREFIX) and name.endswith(".repository"))
    assert found == [], "use cases take a port (ports.py), not a repository:\n" + "\n".join(found)
