"""Every hot and cold query declaration (shared/read_model.py) names the code that runs it:
``"path/to/module.py function()"``, several joined by ``"; "``. The named file exists and defines
that function, so a reader can follow a declaration to its query and a move cannot leave the
declaration pointing nowhere."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from shared.read_model import COLD_QUERIES, HOT_QUERIES, QueryShape

ROOT = Path(__file__).resolve().parents[3]
PLACE = re.compile(r"^(?P<path>[\w/]+\.py) (?P<function>[\w.]+)\(")
SHAPES = [*HOT_QUERIES, *(cold.shape for cold in COLD_QUERIES)]


def defined_functions(path: Path) -> set[str]:
    """Function names defined in the module, bare and as ``Class.method``."""
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    names |= {item.name, f"{node.name}.{item.name}"}
    return names


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.name)
def test_a_declaration_names_code_that_exists(shape: QueryShape) -> None:
    places = [p.strip() for p in shape.where.split(";") if ".py" in p]
    for place in places:  # the rest are notes, e.g. "the send ledger" for an _id lookup
        match = PLACE.match(place)
        assert match is not None, f"{shape.name}: write `path.py function()`, not {place!r}"
        path = ROOT / match["path"]
        assert path.is_file(), f"{shape.name}: {match['path']} does not exist"
        assert match["function"] in defined_functions(path), (
            f"{shape.name}: {match['path']} defines no {match['function']}()")

