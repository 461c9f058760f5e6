"""The layout rules a newcomer relies on when reading the code (docs/architecture.md and
CONTRIBUTING.md):

- a service never imports another service: what they share lives in ``shared/``;
- ``shared/`` and the sandbox import no service;
- inside a service, adapters depend on the domain and never the reverse: only the composition
  root (``main.py``, ``__main__.py``) and the adapters themselves import ``adapters/``;
- a module over ~300 lines says at its top why it is one module (a docstring paragraph starting
  ``Size:``), so length is a decision and not an accident.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p for p in (ROOT / "services").iterdir() if (p / "__init__.py").exists())
COMPOSITION_ROOTS = {"main.py", "__main__.py"}
MAX_LINES = 300
SOURCE_DIRS = [*SERVICES, ROOT / "shared", ROOT / "sandbox", ROOT / "devstack"]


def imports(path: Path) -> Iterator[str]:
    """Absolute module names the file imports (relative imports are not used in this project)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def python_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*.py") if "web" not in p.relative_to(ROOT).parts)


class TestImports:
    def test_reads_absolute_imports_of_both_forms(self, tmp_path: Path) -> None:
        source = tmp_path / "m.py"
        source.write_text("import a.b\nfrom c.d import e\n")
        assert list(imports(source)) == ["a.b", "c.d", "c.d.e"]


@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.name)
def test_a_service_imports_no_other_service(service: Path) -> None:
    own = f"services.{service.name}"
    found = sorted(
        f"{path.relative_to(ROOT)} imports {name}"
        for path in python_files(service)
        for name in imports(path)
        if name.startswith("services.") and not (name == own or name.startswith(own + "."))
    )
    assert found == [], "move what services share into shared/:\n" + "\n".join(found)


@pytest.mark.parametrize("package", ["shared", "sandbox"])
def test_shared_code_and_the_sandbox_import_no_service(package: str) -> None:
    found = sorted(
        f"{path.relative_to(ROOT)} imports {name}"
        for path in python_files(ROOT / package)
        for name in imports(path)
        if name == "services" or name.startswith("services.")
    )
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.name)
def test_only_the_composition_root_and_adapters_import_adapters(service: Path) -> None:
    adapters = f"services.{service.name}.adapters"
    found = sorted(
        f"{path.relative_to(ROOT)} imports {name}"
        for path in python_files(service)
        if path.name not in COMPOSITION_ROOTS and "adapters" not in path.relative_to(service).parts
        for name in imports(path)
        if name == adapters or name.startswith(adapters + ".")
    )
    assert found == [], "the domain must not depend on adapters (take a port):\n" + "\n".join(found)


@pytest.mark.parametrize("directory", SOURCE_DIRS, ids=lambda p: p.name)
def test_a_long_module_says_why_it_is_one_module(directory: Path) -> None:
    found = []
    for path in python_files(directory):
        lines = path.read_text().count("\n")
        if lines <= MAX_LINES:
            continue
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        if not any(line.startswith("Size:") for line in doc.splitlines()):
            found.append(f"{path.relative_to(ROOT)} ({lines} lines)")
    assert found == [], (
        f"over {MAX_LINES} lines with no 'Size:' reason in the module docstring; split it or "
        "say why it is one module:\n" + "\n".join(found))
