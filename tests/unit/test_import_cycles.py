"""No import circles between the modules of a service (or of shared/): each package's imports
point one way, so any module can be read, tested and moved with what it imports and no more."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = sorted(
    [p for p in (ROOT / "services").iterdir() if (p / "__init__.py").exists()]
    + [ROOT / "shared"],
)
# Circles that exist today and have an owner; each comes out with the change that removes it.
KNOWN: set[frozenset[str]] = set()


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, name: str, modules: set[str]) -> Iterator[str]:
    """The modules of ``modules`` that the file imports (at any level, type-checking too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from package import module` names a module; `from module import name` does not.
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            if target in modules and target != name:
                yield target


def graph(package: Path) -> dict[str, set[str]]:
    files = {module_name(p): p for p in package.rglob("*.py")}
    modules = set(files)
    return {name: set(imported(path, name, modules)) for name, path in files.items()}


def circles(edges: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


class TestCircles:
    def test_finds_a_circle_and_only_the_circle(self) -> None:
        edges = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
        assert circles(edges) == [frozenset({"a", "b", "c"})]


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_modules_of_a_package_import_each_other_in_one_direction(package: Path) -> None:
    found = [sorted(c) for c in circles(graph(package)) if c not in KNOWN]
    assert found == [], f"import circles in {package.name}: {found}"
