"""The fault suite (issue 11): each scenario's load with its fault, then every invariant, checked
against the sandbox's record and the store's documents. The short version (the key Kafka restart
under traffic, a SIGKILL, Cloud API faults, duplicated and reordered webhooks) runs in
``./dev test``; everything, and seeded mixes, with ``./dev faults``."""

from __future__ import annotations

import os

import pytest

from tests.reliability.conftest import ROWS
from tests.reliability.harness import ReliabilityStack
from tests.reliability.load import LoadConfig
from tests.reliability.scenarios import SINGLE, Scenario, mixed, run, scenario

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

SEED = int(os.environ.get("RELIABILITY_SEED", "11"))
SHORT = ["kafka_restart", "kill_outbound_sender", "cloud_api_faults", "webhooks_dup_reorder"]
FULL = [name for name in SINGLE if name not in SHORT]
LOADS = {
    # The load outlasts the outage and the restart, so traffic is in flight across both.
    "kafka_restart": LoadConfig(max_seconds=45.0, max_actions=400),
    "mongo_restart": LoadConfig(max_seconds=35.0, max_actions=300),
    "rebalance": LoadConfig(max_seconds=35.0, max_actions=300),
    "rolling_restart": LoadConfig(max_seconds=60.0, max_actions=500),
    "cloud_api_faults": LoadConfig(max_seconds=25.0, max_actions=250,
                                   weights={"inbound": 0.35, "text": 0.4, "template": 0.12,
                                            "first_contact": 0.05, "refusable": 0.08}),
}


def _tag(name: str) -> int:
    names = [*SHORT, *FULL, "mixed"]
    return names.index(name) + 1 if name in names else 900


async def _check(stack: ReliabilityStack, chosen: Scenario) -> None:
    row = await run(stack, chosen, seed=SEED, tag=_tag(chosen.name))
    ROWS.append(row)
    assert row.passed, "\n".join([f"{chosen.name}: {row.failures[0]}", row.detail])


@pytest.mark.parametrize("name", SHORT)
async def test_short(stack: ReliabilityStack, name: str) -> None:
    await _check(stack, scenario(name, LOADS.get(name)))


@pytest.mark.reliability_full
@pytest.mark.parametrize("name", FULL)
async def test_full(stack: ReliabilityStack, name: str) -> None:
    await _check(stack, scenario(name, LOADS.get(name, LoadConfig(max_seconds=30.0))))


@pytest.mark.reliability_full
async def test_mixed(stack: ReliabilityStack) -> None:
    """Four faults drawn with the seed, one after the other, under one long load."""
    chosen = Scenario("mixed", "every fault above, mixed at random (seeded, reproducible)",
                      mixed(4), LoadConfig(max_seconds=120.0, max_actions=900))
    await _check(stack, chosen)
