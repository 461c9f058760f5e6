"""The web inbox's modules import each other in one direction: no import circle among web/js."""

from __future__ import annotations

import re
from pathlib import Path

from tests.unit.test_import_cycles import circles

WEB = Path(__file__).resolve().parents[3] / "services" / "inbox_api" / "web"
# `import { a, b } from './x.js';` (one line or several) and `import './x.js';`
IMPORT = re.compile(r"""^\s*import\s+(?:[^'"]*?\s+from\s+)?['"](\.{1,2}/[^'"]+)['"]""", re.M)


def edges() -> dict[str, set[str]]:
    modules = {p.resolve(): p.relative_to(WEB).as_posix() for p in WEB.rglob("*.js")}
    found: dict[str, set[str]] = {}
    for path, name in modules.items():
        targets = IMPORT.findall(path.read_text())
        found[name] = {modules[(path.parent / t).resolve()] for t in targets}
    return found


def test_the_parser_sees_the_imports() -> None:
    graph = edges()
    assert "js/state.js" in graph["app.js"]
    assert "js/api.js" in graph["js/session.js"]


def test_no_import_circle_among_the_web_modules() -> None:
    assert circles(edges()) == []
