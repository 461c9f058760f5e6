"""What the Dockerfile puts in the image, read offline: its stages, and the files its COPY lines
place under the working directory (where ``python -m`` finds modules)."""

from __future__ import annotations

import ast
import functools
import shlex
from dataclasses import dataclass, field
from pathlib import Path

FIRST_PARTY = ("shared", "services", "sandbox", "devstack")


@dataclass
class Stage:
    """One FROM ... section: its base, and its instructions in order (keyword, arguments)."""

    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)


def parse(dockerfile: Path) -> tuple[dict[str, str], list[Stage]]:
    """The global ARG defaults and the stages (continuation lines joined, comments dropped)."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    logical = dockerfile.read_text().replace("\\\n", " ")
    for line in logical.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            base = rest.split()[0]
            for name, value in args.items():
                base = base.replace(f"${{{name}}}", value)
            stages.append(Stage(base))
        else:
            stages[-1].instructions.append((keyword, rest))
    return args, stages


def copied_files(root: Path, stage: Stage) -> set[str]:
    """Paths (relative to WORKDIR) the stage copies from the build context into WORKDIR."""
    files: set[str] = set()
    for keyword, rest in stage.instructions:
        if keyword != "COPY" or rest.startswith("--from"):
            continue
        *sources, dest = shlex.split(rest)
        if dest.startswith("/"):
            continue  # outside the working directory: not importable as a module
        dest = dest.removeprefix("./")
        for source in sources:
            path = root / source
            if path.is_dir():
                files |= {
                    f"{dest.rstrip('/')}/{p.relative_to(path)}" for p in path.rglob("*")
                    if p.is_file() and "__pycache__" not in p.parts
                }
            else:
                files.add(f"{dest.rstrip('/')}/{path.name}" if dest.endswith("/") else dest)
    return files


def module_file(module: str, files: set[str]) -> str | None:
    """The file ``python -m module`` (or ``import module``) runs, if the image holds it with
    every parent package's __init__.py."""
    parts = module.split(".")
    for i in range(1, len(parts)):
        if "/".join(parts[:i]) + "/__init__.py" not in files:
            return None
    for candidate in ("/".join(parts) + ".py", "/".join(parts) + "/__main__.py",
                      "/".join(parts) + "/__init__.py"):
        if candidate in files:
            return candidate
    return None


@functools.cache
def first_party_imports(path: Path) -> frozenset[str]:
    """The first-party modules a file imports (anywhere in it, lazily or not)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return frozenset(m for m in found if m.split(".")[0] in FIRST_PARTY)


def missing_imports(root: Path, entry: str, files: set[str]) -> set[str]:
    """First-party modules reachable from ``entry`` that the image does not hold."""
    missing: set[str] = set()
    seen: set[str] = set()
    frontier = [entry]
    while frontier:
        module = frontier.pop()
        if module in seen:
            continue
        seen.add(module)
        path = module_file(module, files)
        if path is None:
            # ``from pkg import name`` names an attribute as often as a submodule.
            parent = module.rpartition(".")[0]
            if not parent or module_file(parent, files) is None:
                missing.add(module)
            continue
        frontier += first_party_imports(root / path)
        if path.endswith("__main__.py"):
            frontier.append(module)  # the package's __init__ runs too
            seen.add(module)
            init = path.replace("__main__.py", "__init__.py")
            if init in files:
                frontier += first_party_imports(root / init)
    return missing
