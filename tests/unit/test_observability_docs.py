"""Every Prometheus metric the code defines is in docs/metrics.md, and every query of the Grafana
dashboard (deploy/grafana/inbox-golden-signals.json) reads a metric that is documented there."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "metrics.md"
DASHBOARD = ROOT / "deploy" / "grafana" / "inbox-golden-signals.json"
DEFINES = re.compile(r"\b(Counter|Gauge|Histogram|Summary)\(")
# The series a histogram or counter family exposes besides its own name.
SUFFIXES = ("_total", "_bucket", "_sum", "_count", "_created")


def defined_metrics() -> dict[str, str]:
    """Exposed name -> type of every metric defined by a module of the project."""
    for package in ("shared", "services", "sandbox", "devstack"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if DEFINES.search(path.read_text()):
                importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
    found: dict[str, str] = {}
    for metric in REGISTRY.collect():
        name = f"{metric.name}_total" if metric.type == "counter" else metric.name
        found[name] = metric.type
    return found


def documented() -> set[str]:
    return set(re.findall(r"^\| `([a-z_:][a-z0-9_:]*)` \|", DOC.read_text(), re.M))


def test_every_metric_is_documented_with_its_type() -> None:
    text = DOC.read_text()
    ours = {n: t for n, t in defined_metrics().items()
            if not n.startswith(("python_", "process_", "platform_"))}
    missing = sorted(n for n in ours if n not in documented())
    assert not missing, f"add these metrics to docs/metrics.md: {missing}"
    for name, kind in ours.items():
        assert re.search(rf"^\| `{name}` \| {kind} \|", text, re.M), f"{name}: type {kind}"


def test_the_doc_lists_no_metric_the_code_does_not_define() -> None:
    stale = sorted(documented() - set(defined_metrics()))
    assert not stale, f"docs/metrics.md lists metrics no code defines: {stale}"


# --- the dashboard ---------------------------------------------------------------------------

_NOT_METRICS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
    "unless", "offset", "le", "inf", "nan",
}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (labels, functions, ranges stripped)."""
    expr = re.sub(r'"[^"]*"', "", expr)          # label values
    expr = re.sub(r"\{[^}]*\}", "", expr)        # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)       # ranges
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)  # grouping labels
    expr = re.sub(r"\$\w+", "", expr)            # dashboard variables
    names = set()
    for match in re.finditer(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?", expr):
        token, call = match.group(1), match.group(2)
        if call or token.lower() in _NOT_METRICS or re.fullmatch(r"\d.*", token):
            continue
        names.add(token)
    return names


def _exprs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["expr"]] if isinstance(node.get("expr"), str) else []
        return found + [e for v in node.values() for e in _exprs(v)]
    if isinstance(node, list):
        return [e for v in node for e in _exprs(v)]
    return []


def test_every_dashboard_query_reads_documented_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = _exprs(dashboard)
    assert exprs, "the dashboard has no queries"
    known = documented()
    for expr in exprs:
        names = metric_names(expr)
        assert names, f"no metric in {expr!r}"
        for name in names:
            base = next((name[: -len(s)] for s in SUFFIXES if name.endswith(s)), name)
            assert name in known or base in known or f"{base}_total" in known, (
                f"{name} (in {expr!r}) is not in docs/metrics.md")


def test_the_golden_signals_are_on_the_dashboard() -> None:
    read = {n for e in _exprs(json.loads(DASHBOARD.read_text())) for n in metric_names(e)}
    for wanted in ("webhook_ingest_requests_total", "inbox_consumer_lag",
                   "outbound_sender_sent_total", "inbox_api_request_seconds_bucket"):
        assert wanted in read, wanted


def test_metric_names_skips_functions_labels_and_ranges() -> None:
    expr = ('histogram_quantile(0.99, sum by (le, route) '
            '(rate(inbox_api_request_seconds_bucket{route!="/x"}[5m])))')
    assert metric_names(expr) == {"inbox_api_request_seconds_bucket"}
