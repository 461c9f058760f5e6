"""The ledger contract against the real database, plus what only the database can show."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from services.outbound_sender.adapters.mongo import MongoLedger
from services.outbound_sender.ledger import Outcome
from tests.unit.outbound_sender.fakes import T0
from tests.unit.outbound_sender.ledger_contract import LedgerContract, claim

pytestmark = pytest.mark.integration


class TestMongoLedger(LedgerContract):
    @pytest.fixture
    async def ledger(self, db: Any) -> MongoLedger:
        ledger = MongoLedger(db, timedelta(days=14), lambda: T0)
        await ledger.ensure_indexes()
        return ledger


async def test_concurrent_claims_are_batched_and_exactly_one_wins_each_key(db: Any):
    ledger = MongoLedger(db, timedelta(days=14), lambda: T0, max_batch=50)
    # 300 keys, each claimed by two "replicas" at once: one insert per key wins.
    results = await asyncio.gather(*[
        ledger.claim(claim(key=f"acme:c{i}", claim_id=f"{side}{i}"))
        for i in range(300) for side in "ab"])
    assert sum(results) == 300
    assert all(a != b for a, b in zip(results[::2], results[1::2], strict=True))
    assert await db.send_attempts.count_documents({}) == 300


async def test_outcomes_race_first_writer_wins(db: Any):
    ledger = MongoLedger(db, timedelta(days=14), lambda: T0)
    stored = await asyncio.gather(*[
        ledger.record_outcome(Outcome("acme:x", f'{{"n": {i}}}', "outbound.accepted"))
        for i in range(10)])
    assert len({s.event_json for s in stored}) == 1
