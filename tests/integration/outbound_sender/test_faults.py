"""Cloud API faults from the sandbox: retried where Meta says so, never sent twice."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from shared import callback_data
from shared.config import InfraSettings
from tests.integration.outbound_sender.conftest import (
    CHANNEL,
    inbox,
    prepare_database,
    reference_counts,
    template,
)

pytestmark = pytest.mark.integration
NUMBER = CHANNEL.phone_number_id


async def test_server_errors_and_rate_limit_are_retried_and_delivered_once(
    settings: InfraSettings, producer: Any, db: Any
):
    await prepare_database(db)
    async with inbox(settings, producer, with_customers=False) as rig:
        await rig.sandbox.inject_fault(NUMBER, "server_error", count=1, http_status=503)
        await rig.sandbox.inject_fault(NUMBER, "unknown_error", count=1)
        await rig.sandbox.inject_fault(NUMBER, "rate_limit", count=1)
        await rig.command(template("f1"))
        [accepted] = (await rig.outcomes(1))["f1"]
        assert accepted.type == "outbound.accepted"
        received = await rig.sandbox.received(NUMBER)
        assert [r.http_status for r in received] == [503, 500, 429, 200]
        assert reference_counts(await rig.sent_bodies()) == {"f1": 1}

        # The operators' side port.
        assert rig.sender is not None
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rig.sender.ops_port}") as ops:
            assert (await ops.get("/healthz")).status_code == 200
            assert (await ops.get("/readyz")).json() == {"status": "ready"}
            metrics = (await ops.get("/metrics")).text
        assert 'outbound_sender_sent_total{kind="template"}' in metrics
        assert 'outbound_sender_retries_total{code="130429"}' in metrics
        assert "outbound_sender_cloud_api_seconds_bucket" in metrics


async def test_permanent_error_fails_with_metas_error_after_one_call(
    settings: InfraSettings, producer: Any, db: Any
):
    await prepare_database(db)
    async with inbox(settings, producer, with_customers=False) as rig:
        await rig.sandbox.inject_fault(NUMBER, "error", code=131026)
        await rig.command(template("p1"))
        [failed] = (await rig.outcomes(1))["p1"]
        assert failed.type == "outbound.failed"
        assert failed.error.code == 131026
        assert failed.error.title
        assert len(await rig.sandbox.received(NUMBER)) == 1


async def test_an_answer_that_never_comes_is_reported_unknown_not_resent(
    settings: InfraSettings, producer: Any, db: Any
):
    await prepare_database(db)
    async with inbox(settings, producer, with_customers=False, call_deadline_seconds=1.0) as rig:
        # Meta takes the message but the answer never arrives in time.
        await rig.sandbox.inject_fault(NUMBER, "timeout", seconds=3, accept=True)
        await rig.command(template("u1"), template("u2"))
        outcomes = await rig.outcomes(2)
        assert [e.type for e in outcomes["u1"]] == ["outbound.unknown"]
        assert [e.type for e in outcomes["u2"]] == ["outbound.accepted"]
        assert reference_counts(await rig.sent_bodies()) == {"u1": 1, "u2": 1}


async def test_pair_rate_limit_delays_only_that_customer(
    settings: InfraSettings, producer: Any, db: Any
):
    await prepare_database(db)
    # Meta's pair limit, tightened: one message per second per customer, no burst.
    pair_limit = {"pair_rate_limit": True, "pair_rate_per_second": 1.0, "pair_burst": 1}
    async with inbox(settings, producer, with_customers=False,
                     sandbox_settings=pair_limit) as rig:
        await rig.command(template("a1", customer="16505550001"),
                          template("a2", customer="16505550001"))
        deadline = time.monotonic() + 20
        while not any(r.error_code == 131056 for r in await rig.sandbox.received(NUMBER)):
            assert time.monotonic() < deadline, "the pair limit never answered"
            await asyncio.sleep(0.02)
        # a2 now waits 4^0 s in its customer's queue. Another customer's send, even a bulk one
        # (which a held number would serve after the reply a2), goes out meanwhile.
        await rig.command(template("b1", customer="16505550002", priority="bulk"))
        outcomes = await rig.outcomes(3)
        assert {c: [e.type for e in events] for c, events in outcomes.items()} == {
            "a1": ["outbound.accepted"], "a2": ["outbound.accepted"],
            "b1": ["outbound.accepted"]}
        received = await rig.sandbox.received(NUMBER)
        answers = [(callback_data.decode(r.body["biz_opaque_callback_data"]).command_id,
                    r.error_code) for r in received]
        assert ("a2", 131056) in answers
        assert answers.index(("b1", None)) < answers.index(("a2", None))
        assert reference_counts(await rig.sent_bodies()) == {"a1": 1, "a2": 1, "b1": 1}
