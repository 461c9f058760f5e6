"""The map (shared/ownership_map.py) is what the code does, and docs/architecture.md shows it.

Each service package's source is scanned for collection writes (insert, update, replace, delete,
bulk_write, find-and-modify, index creation); every write must resolve to a collection by the
name constants, and the map must give that service the collection. A write that cannot be
resolved fails the test with its place: teach the resolver below, never skip it.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pytest

import shared.events.topics as topics_module
from shared.events.topics import ALL_TOPICS
from shared.ownership_map import COLLECTIONS, SERVICES, TOPICS, markdown_tables

ROOT = Path(__file__).resolve().parents[3]
WRITES = frozenset({
    "insert_one", "insert_many", "update_one", "update_many", "replace_one", "delete_one",
    "delete_many", "find_one_and_update", "find_one_and_replace", "find_one_and_delete",
    "bulk_write", "create_index", "create_indexes", "drop_index", "drop_indexes",
})
READS = frozenset({"find", "find_one", "aggregate", "count_documents", "distinct"})
# shared/ helpers that write a collection their caller names: (function, argument index) ->
# the argument is a mapping whose keys are the collections.
WRITE_HELPERS = {("ensure_indexes", 1)}
# shared/ helpers that write the collection passed as an argument: (function, argument index).
COLLECTION_WRITE_HELPERS = {("insert_absent", 0)}

Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass
class Module:
    path: Path
    tree: ast.Module
    runtime: ModuleType
    parents: dict[ast.AST, ast.AST] = field(default_factory=dict)

    def where(self, node: ast.AST) -> str:
        return f"{self.path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"


class Unresolved(Exception):
    pass


class Package:
    """A package's modules, and a small resolver from a collection expression to names."""

    def __init__(self, folder: Path) -> None:
        self.modules: list[Module] = []
        for path in sorted(folder.rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            # Constants are read from the imported module (``__main__`` would run the service).
            runtime = (ModuleType(name) if path.name == "__main__.py"
                       else importlib.import_module(name))
            module = Module(path, ast.parse(path.read_text()), runtime)
            for parent in ast.walk(module.tree):
                for child in ast.iter_child_nodes(parent):
                    module.parents[child] = parent
            self.modules.append(module)

    # -- context -----------------------------------------------------------------------------

    def _enclosing(self, module: Module, node: ast.AST, kind: type | tuple[type, ...]
                   ) -> ast.AST | None:
        current = module.parents.get(node)
        while current is not None and not isinstance(current, kind):
            current = module.parents.get(current)
        return current

    def _function(self, module: Module, node: ast.AST) -> Function | None:
        found = self._enclosing(module, node, (ast.FunctionDef, ast.AsyncFunctionDef))
        return found if isinstance(found, ast.FunctionDef | ast.AsyncFunctionDef) else None

    def _class(self, module: Module, node: ast.AST) -> ast.ClassDef | None:
        found = self._enclosing(module, node, ast.ClassDef)
        return found if isinstance(found, ast.ClassDef) else None

    def _constant(self, module: Module, node: ast.expr) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            value = getattr(module.runtime, node.id, None)
            return value if isinstance(value, str) else None
        return None

    # -- resolution --------------------------------------------------------------------------

    def resolve(self, module: Module, node: ast.expr, seen: frozenset[int] = frozenset()
                ) -> set[str]:
        """The collections ``node`` (a collection expression) may be; raises Unresolved."""
        if id(node) in seen:
            return set()
        seen = seen | {id(node)}
        if isinstance(node, ast.Subscript):  # db[NAME]
            name = self._constant(module, node.slice)
            if name is None:
                raise Unresolved(f"{module.where(node)}: collection name {ast.unparse(node)}")
            return {name}
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get_collection" and node.args):
            name = self._constant(module, node.args[0])
            if name is not None:
                return {name}
        if isinstance(node, ast.Attribute):
            return self._attribute(module, node, seen)
        if isinstance(node, ast.Name):
            return self._name(module, node, seen)
        if isinstance(node, ast.Tuple | ast.List):
            return {c for element in node.elts for c in self.resolve(module, element, seen)}
        raise Unresolved(f"{module.where(node)}: {ast.unparse(node)}")

    def _attribute(self, module: Module, node: ast.Attribute, seen: frozenset[int]) -> set[str]:
        """``self.x``: what the class assigns to it; ``other.x``: what any class assigns."""
        owner = self._class(module, node)
        candidates = [(m, a) for m in self.modules for a in ast.walk(m.tree)
                      if isinstance(a, ast.Assign | ast.AnnAssign)
                      and any(isinstance(t, ast.Attribute) and t.attr == node.attr
                              and isinstance(t.value, ast.Name) and t.value.id == "self"
                              for t in (a.targets if isinstance(a, ast.Assign) else [a.target]))]
        if isinstance(node.value, ast.Name) and node.value.id == "self" and owner is not None:
            own = [(m, a) for m, a in candidates if m is module and self._class(m, a) is owner]
            candidates = own or candidates
        if not candidates:
            raise Unresolved(f"{module.where(node)}: nothing assigns {ast.unparse(node)}")
        found: set[str] = set()
        for m, assign in candidates:
            if assign.value is not None:
                found |= self.resolve(m, assign.value, seen)
        return found

    def _name(self, module: Module, node: ast.Name, seen: frozenset[int]) -> set[str]:
        function = self._function(module, node)
        if function is None:
            raise Unresolved(f"{module.where(node)}: {node.id} outside a function")
        found: set[str] = set()
        matched = False
        for inner in ast.walk(function):
            if isinstance(inner, ast.Assign):
                for target in inner.targets:
                    if isinstance(target, ast.Name) and target.id == node.id:
                        matched = True
                        found |= self.resolve(module, inner.value, seen)
                    elif isinstance(target, ast.Tuple):
                        for index, element in enumerate(target.elts):
                            if isinstance(element, ast.Name) and element.id == node.id:
                                matched = True
                                found |= self._returned(module, inner.value, index, seen)
            elif (isinstance(inner, ast.For | ast.AsyncFor) and isinstance(inner.target, ast.Name)
                  and inner.target.id == node.id):
                matched = True
                found |= self.resolve(module, inner.iter, seen)
        if matched:
            return found
        params = [a.arg for a in [*function.args.posonlyargs, *function.args.args,
                                  *function.args.kwonlyargs]]
        if node.id in params:
            return self._from_callers(module, function, node.id, seen)
        raise Unresolved(f"{module.where(node)}: {node.id}")

    def _returned(self, module: Module, call: ast.expr, index: int, seen: frozenset[int]
                  ) -> set[str]:
        """Element ``index`` of what ``self.method(...)`` returns (tuple unpacking)."""
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
            raise Unresolved(f"{module.where(call)}: {ast.unparse(call)}")
        owner = self._class(module, call)
        found: set[str] = set()
        for method in ast.walk(owner) if owner is not None else []:
            if (isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef)
                    and method.name == call.func.attr):
                for ret in ast.walk(method):
                    if isinstance(ret, ast.Return) and isinstance(ret.value, ast.Tuple):
                        found |= self.resolve(module, ret.value.elts[index], seen)
        if not found:
            raise Unresolved(f"{module.where(call)}: {ast.unparse(call)}")
        return found

    def _from_callers(self, module: Module, function: Function, param: str,
                      seen: frozenset[int]) -> set[str]:
        """A parameter: what every call of its function in the package passes."""
        owner = self._class(module, function)
        method = owner is not None
        name = owner.name if method and function.name == "__init__" and owner else function.name
        positional = [a.arg for a in [*function.args.posonlyargs, *function.args.args]]
        if method:
            positional = positional[1:]
        found: set[str] = set()
        calls = 0
        for m in self.modules:
            for call in ast.walk(m.tree):
                if not isinstance(call, ast.Call):
                    continue
                callee = call.func
                called = callee.id if isinstance(callee, ast.Name) else (
                    callee.attr if isinstance(callee, ast.Attribute) else None)
                if called != name:
                    continue
                argument: ast.expr | None = None
                if param in positional and positional.index(param) < len(call.args):
                    argument = call.args[positional.index(param)]
                for keyword in call.keywords:
                    if keyword.arg == param:
                        argument = keyword.value
                if argument is not None:
                    calls += 1
                    found |= self.resolve(m, argument, seen)
        if not calls:
            raise Unresolved(f"{module.where(function)}: no call passes {param}")
        return found

    # -- what the package does ---------------------------------------------------------------

    def operations(self, methods: frozenset[str]) -> Iterator[tuple[Module, ast.Call]]:
        for module in self.modules:
            for call in ast.walk(module.tree):
                if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                        and call.func.attr in methods):
                    yield module, call

    def helper_writes(self) -> Iterator[tuple[Module, ast.Call, str]]:
        """Calls of shared write helpers: the collections their mapping names."""
        for module in self.modules:
            for call in ast.walk(module.tree):
                if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
                    continue
                for helper, index in WRITE_HELPERS:
                    if call.func.id == helper and len(call.args) > index:
                        for name in self._mapping_keys(module, call.args[index]):
                            yield module, call, name
                for helper, index in COLLECTION_WRITE_HELPERS:
                    if call.func.id == helper and len(call.args) > index:
                        for name in self.resolve(module, call.args[index]):
                            yield module, call, name

    def _mapping_keys(self, module: Module, node: ast.expr) -> list[str]:
        if isinstance(node, ast.Dict):
            keys = [self._constant(module, k) for k in node.keys if k is not None]
            if None in keys or len(keys) != len(node.keys):
                raise Unresolved(f"{module.where(node)}: index mapping {ast.unparse(node)}")
            return [k for k in keys if k is not None]
        if isinstance(node, ast.Name) and isinstance(getattr(module.runtime, node.id, None),
                                                     dict):
            return [str(k) for k in getattr(module.runtime, node.id)]
        raise Unresolved(f"{module.where(node)}: index mapping {ast.unparse(node)}")

    def writes(self) -> dict[str, list[str]]:
        """Collection -> the places that write it."""
        out: dict[str, list[str]] = {}
        for module, call in self.operations(WRITES):
            assert isinstance(call.func, ast.Attribute)
            for name in self.resolve(module, call.func.value):
                out.setdefault(name, []).append(module.where(call))
        for module, call, name in self.helper_writes():
            out.setdefault(name, []).append(module.where(call))
        return out

    def reads(self) -> dict[str, list[str]]:
        """Collection -> the places that read it (reads the resolver cannot follow are left
        out: a read cannot break ownership)."""
        out: dict[str, list[str]] = {}
        for module, call in self.operations(READS):
            assert isinstance(call.func, ast.Attribute)
            try:
                names = self.resolve(module, call.func.value)
            except Unresolved:
                continue
            for name in names & set(COLLECTIONS):
                out.setdefault(name, []).append(module.where(call))
        return out

    def named_collections(self) -> set[str]:
        """Collections the package names in a ``db[NAME]`` (what it touches at all), or as a
        GridFS bucket (``AsyncGridFSBucket(db, bucket_name=NAME)``: ``NAME.files`` and
        ``NAME.chunks``)."""
        named = {name for module in self.modules for node in ast.walk(module.tree)
                 if isinstance(node, ast.Subscript)
                 and (name := self._constant(module, node.slice)) in COLLECTIONS}
        for module in self.modules:
            for call in ast.walk(module.tree):
                if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                        and call.func.id == "AsyncGridFSBucket"):
                    continue
                bucket = next((self._constant(module, k.value) for k in call.keywords
                               if k.arg == "bucket_name"), None)
                if bucket is None:
                    raise Unresolved(f"{module.where(call)}: a bucket without a constant "
                                     "bucket_name")
                named |= {f"{bucket}.files", f"{bucket}.chunks"} & set(COLLECTIONS)
        return named

    def topics(self) -> set[str]:
        """Topic constants the package names."""
        constants = {n: v for n, v in vars(topics_module).items() if v in ALL_TOPICS}
        return {constants[node.id] for module in self.modules for node in ast.walk(module.tree)
                if isinstance(node, ast.Name) and node.id in constants}


@pytest.fixture(scope="module")
def packages() -> dict[str, Package]:
    return {service: Package(ROOT / "services" / service) for service in SERVICES}


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_writes_only_the_collections_the_map_gives_it(
        packages: dict[str, Package], service: str) -> None:
    try:
        writes = packages[service].writes()
    except Unresolved as exc:
        pytest.fail(f"{service}: a write the map test cannot resolve to a collection: {exc}")
    given = {c for c, use in COLLECTIONS.items() if service in use.writers}
    stray = {c: places for c, places in writes.items() if c not in given}
    assert stray == {}, f"{service} writes collections the map does not give it"
    assert given - set(writes) == set(), f"the map gives {service} writes it no longer makes"


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_reads_only_what_the_map_lets_it_see(
        packages: dict[str, Package], service: str) -> None:
    allowed = {c for c, use in COLLECTIONS.items()
               if service in use.readers or service in use.writers}
    stray = {c: p for c, p in packages[service].reads().items() if c not in allowed}
    assert stray == {}, f"{service} reads collections the map does not list it for"
    named = packages[service].named_collections()
    assert allowed - named == set(), f"the map lists {service} on collections it never names"


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_names_exactly_the_topics_the_map_gives_it(
        packages: dict[str, Package], service: str) -> None:
    given = {t for t, use in TOPICS.items()
             if service in (*use.producers, *use.consumers, *use.watchers)}
    assert packages[service].topics() == given


def test_the_map_covers_every_topic_and_only_services() -> None:
    assert set(TOPICS) == set(ALL_TOPICS)
    for use in [*COLLECTIONS.values(), *TOPICS.values()]:
        names = [*getattr(use, "writers", ()), *getattr(use, "readers", ()),
                 *getattr(use, "producers", ()), *getattr(use, "consumers", ()),
                 *getattr(use, "watchers", ())]
        assert set(names) <= set(SERVICES)


def test_shared_code_writes_only_through_the_known_helpers() -> None:
    """A shared helper that writes a collection its caller passes would hide the write from
    the scan above: each must be listed in WRITE_HELPERS (and resolved at its call sites)."""
    shared = Package(ROOT / "shared")
    places = [(module.path.name, getattr(shared._function(module, call), "name", None))
              for module, call in shared.operations(WRITES)]
    helpers = WRITE_HELPERS | COLLECTION_WRITE_HELPERS
    assert set(places) <= {("mongo.py", helper) for helper, _ in helpers}, places


def test_the_architecture_doc_shows_the_map() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text()
    assert markdown_tables() in doc, (
        "docs/architecture.md's map differs from shared/ownership_map.py; paste "
        "`python -c 'import shared.ownership_map as m; print(m.markdown_tables())'`")


def test_the_resolver_refuses_a_write_it_cannot_place(tmp_path: Path) -> None:
    module = Module(ROOT / "x.py", ast.parse("async def f(db, name):\n"
                                             "    await db[name].insert_one({})\n"),
                    ModuleType("x"))
    package = Package.__new__(Package)
    package.modules = [module]
    for parent in ast.walk(module.tree):
        for child in ast.iter_child_nodes(parent):
            module.parents[child] = parent
    with pytest.raises(Unresolved, match=r"x\.py:2"):
        package.writes()
