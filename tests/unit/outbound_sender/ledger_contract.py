"""What every Ledger must do; run against the fake (unit) and MongoDB (integration)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services.outbound_sender.ledger import (
    Claim,
    Done,
    Doubt,
    Fresh,
    Outcome,
    Resume,
    RetryMark,
    Wait,
    assess,
)
from tests.unit.outbound_sender.fakes import T0

KEY = "acme:cmd-1"


def claim(attempt: int = 1, claim_id: str = "c1", lease: float | None = 20,
          outcome: str | None = None, key: str = KEY) -> Claim:
    return Claim(key=key, attempt=attempt, claim_id=claim_id, owner="replica-a", at=T0,
                 lease_until=None if lease is None else T0 + timedelta(seconds=lease),
                 outcome=outcome)


class LedgerContract:
    """Subclasses provide a ``ledger`` fixture."""

    async def test_nothing_recorded_means_fresh(self, ledger: Any):
        assert assess(await ledger.view(KEY), T0) == Fresh()

    async def test_a_claim_is_taken_once(self, ledger: Any):
        assert await ledger.claim(claim(claim_id="mine"))
        assert not await ledger.claim(claim(claim_id="theirs"))

    async def test_claiming_again_with_the_same_claim_id_is_still_ours(self, ledger: Any):
        # A retried insert whose first answer was lost must not look like someone else's claim.
        assert await ledger.claim(claim(claim_id="mine"))
        assert await ledger.claim(claim(claim_id="mine"))

    async def test_live_claim_without_outcome_means_wait_then_doubt(self, ledger: Any):
        await ledger.claim(claim(lease=20))
        view = await ledger.view(KEY)
        assert assess(view, T0 + timedelta(seconds=19)) == Wait(T0 + timedelta(seconds=20))
        assert assess(view, T0 + timedelta(seconds=20)) == Doubt(1)

    async def test_decision_without_call_is_final(self, ledger: Any):
        await ledger.claim(claim(lease=None, outcome='{"refused": true}'))
        assert assess(await ledger.view(KEY), T0) == Done('{"refused": true}')

    async def test_first_outcome_recorded_wins(self, ledger: Any):
        await ledger.claim(claim())
        first = Outcome(KEY, '{"n": 1}', "outbound.unknown")
        assert await ledger.record_outcome(first) == first
        stored = await ledger.record_outcome(Outcome(KEY, '{"n": 2}', "outbound.accepted"))
        assert stored.event_json == '{"n": 1}'
        assert assess(await ledger.view(KEY), T0 + timedelta(days=1)) == Done('{"n": 1}')

    async def test_retry_mark_lets_the_next_attempt_be_claimed(self, ledger: Any):
        await ledger.claim(claim())
        mark = RetryMark(key=KEY, attempt=1, retry_at=T0 + timedelta(seconds=4), at=T0,
                         code=131056)
        await ledger.record_retry(mark)
        await ledger.record_retry(mark)  # a repeat is harmless
        view = await ledger.view(KEY)
        assert assess(view, T0) == Resume(2, T0 + timedelta(seconds=4))
        assert await ledger.claim(claim(attempt=2, claim_id="second"))
        assert not await ledger.claim(claim(attempt=2, claim_id="other"))
        view = await ledger.view(KEY)
        assert view.latest is not None
        assert view.latest.attempt == 2
        assert view.latest.claim_id == "second"
        assert assess(view, T0 + timedelta(days=1)) == Doubt(2)

    async def test_commands_do_not_see_each_other(self, ledger: Any):
        await ledger.claim(claim(key="acme:cmd-1"))
        assert await ledger.claim(claim(key="acme:cmd-2"))
        assert assess(await ledger.view("other:cmd-1"), T0) == Fresh()
