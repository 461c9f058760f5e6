"""The fault suite's stack (one per module run), its table, and the full suite's opt-in.

Scenarios marked ``reliability_full`` run only with ``RELIABILITY_FULL=1`` (``./dev faults``);
the short version runs in every ``./dev test``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.reliability.harness import ReliabilityStack, running_stack, skip_reason
from tests.reliability.table import Row, render, write

ROWS: list[Row] = []


def full_run() -> bool:
    return os.environ.get("RELIABILITY_FULL", "") not in ("", "0")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if full_run():
        return
    skip = pytest.mark.skip(reason="long fault scenario: ./dev faults (RELIABILITY_FULL=1)")
    for item in items:
        if "reliability_full" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
async def stack() -> AsyncIterator[ReliabilityStack]:
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    replicas = int(os.environ.get("RELIABILITY_REPLICAS", "2" if full_run() else "1"))
    seed = int(os.environ.get("RELIABILITY_SEED", "11"))
    async with running_stack(store_replicas=replicas, sender_replicas=replicas,
                             seed=seed) as running:
        yield running


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not ROWS:
        return
    title = "fault suite (full)" if full_run() else "fault suite (short)"
    path = write(ROWS, title)
    terminalreporter.write_sep("=", title)
    terminalreporter.write(render(ROWS))
    terminalreporter.write_line(f"(also in {path}, with each scenario's findings)")
