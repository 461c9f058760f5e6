"""The shared per-number bucket: lease math, lease sizing, the replica's held tokens, and the
pacers leasing from a fake shared store (explicit time everywhere)."""

import asyncio
import math

import pytest

from services.outbound_sender.rate import Pacers, capacity_for
from services.outbound_sender.shared_rate import (
    BucketState,
    Grant,
    LocalLease,
    bucket_capacity,
    lease,
    lease_size,
    refill,
)
from tests.unit.outbound_sender.fakes import FakeTime, channel


class TestRefill:
    def test_a_new_bucket_starts_full(self):
        assert refill(None, 100.0, rate=80, capacity=8) == BucketState(8, 100.0, 0)

    def test_refills_at_the_rate_up_to_the_capacity(self):
        state = BucketState(0.0, 100.0, 3)
        assert refill(state, 100.05, 80, 8).tokens == pytest.approx(4.0)
        assert refill(state, 200.0, 80, 8).tokens == 8
        assert refill(state, 100.05, 80, 8).version == 3

    def test_a_clock_behind_never_refills_backwards(self):
        state = BucketState(2.0, 100.0, 1)
        assert refill(state, 99.0, 80, 8) == BucketState(2.0, 100.0, 1)

    def test_a_lower_capacity_caps_what_is_saved(self):
        assert refill(BucketState(50.0, 100.0), 100.0, 80, 8).tokens == 8


class TestLease:
    def test_grants_what_is_asked_when_there(self):
        grant = lease(None, 0.0, rate=1000, capacity=100, want=40)
        assert grant.granted == 40
        assert grant.state == BucketState(60, 0.0, 1)
        assert grant.retry_after == 0.0

    def test_grants_only_whole_tokens_that_are_there(self):
        grant = lease(BucketState(2.7, 0.0, 5), 0.0, 80, 8, want=8)
        assert grant.granted == 2
        assert grant.state.tokens == pytest.approx(0.7)
        assert grant.state.version == 6

    def test_empty_says_when_the_whole_lease_will_be_there(self):
        grant = lease(BucketState(0.5, 10.0, 2), 10.0, 80, 8, want=4)
        assert grant.granted == 0
        assert grant.retry_after == pytest.approx(3.5 / 80)
        assert grant.state.version == 2  # nothing to write

    def test_empty_with_a_lease_larger_than_the_capacity_waits_for_the_capacity(self):
        grant = lease(BucketState(0.0, 0.0), 0.0, 80, 4, want=50)
        assert grant.retry_after == pytest.approx(4 / 80)

    def test_written_ahead_by_a_faster_clock_waits_for_it(self):
        grant = lease(BucketState(0.0, 10.0), 9.0, 80, 8, want=1)
        assert grant.retry_after == pytest.approx(1.0 + 1 / 80)

    def test_refuses_nonsense(self):
        for rate, capacity, want in ((0, 8, 1), (80, 0.5, 1), (80, 8, 0)):
            with pytest.raises(ValueError, match="rate"):
                lease(None, 0.0, rate, capacity, want)

    @pytest.mark.parametrize("replicas", [1, 2, 4, 7])
    def test_many_leasers_never_exceed_burst_plus_rate(self, replicas):
        rate, capacity = 1000.0, 100.0
        state: BucketState | None = None
        now, granted = 0.0, 0
        turn = 0
        while now < 10.0:
            want = lease_size(rate, 0.1, waiting=10_000 if turn % replicas else 3)
            grant = lease(state, now, rate, capacity, want)
            if grant.granted:
                state = grant.state
                granted += grant.granted
            else:
                now += grant.retry_after / replicas
            turn += 1
            assert granted <= capacity + rate * now + 1e-6
        assert granted >= rate * 10.0 * 0.99


class TestLeaseSize:
    def test_a_tenth_of_a_second_of_the_rate(self):
        assert lease_size(1000, 0.1, waiting=10_000) == 100
        assert lease_size(80, 0.1, waiting=10_000) == 8

    def test_no_more_than_the_sends_waiting(self):
        assert lease_size(1000, 0.1, waiting=3) == 3

    def test_at_least_one(self):
        assert lease_size(0.1, 0.1, waiting=0) == 1
        assert lease_size(1000, 0.1, waiting=0) == 1

    def test_capacity_is_the_seconds_given_and_at_least_two(self):
        assert bucket_capacity(1000, 0.1) == 100
        assert bucket_capacity(0.5, 0.1) == 2


class TestLocalLease:
    def make(self, now: float = 0.0) -> tuple[LocalLease, list[int]]:
        asked: list[int] = []
        held = LocalLease(80, 8, now, lambda: asked.append(1), hold_seconds=0.25)
        return held, asked

    def test_asks_once_and_polls_while_the_lease_is_on_its_way(self):
        held, asked = self.make()
        assert held.take(0.0) == pytest.approx(held.poll_seconds)
        assert held.take(0.001) > 0
        assert asked == [1]

    def test_spends_granted_tokens_and_asks_again_at_half(self):
        held, asked = self.make()
        held.take(0.0)
        held.add(4, 0.01)
        assert [held.take(0.01) for _ in range(2)] == [0.0] * 2
        assert len(asked) == 2  # half spent: the next lease is on its way
        assert [held.take(0.01) for _ in range(2)] == [0.0] * 2
        assert len(asked) == 2  # still on its way: not asked twice
        assert held.take(0.01) > 0
        held.add(4, 0.02)
        assert held.take(0.02) == 0.0

    def test_an_empty_answer_waits_as_told(self):
        held, asked = self.make()
        held.take(0.0)
        held.add(0, 0.0, retry_after=0.05)
        assert held.take(0.01) == pytest.approx(0.04)
        assert len(asked) == 1
        held.take(0.05)
        assert len(asked) == 2

    def test_tokens_held_too_long_are_dropped(self):
        held, _ = self.make()
        held.take(0.0)
        held.add(5, 0.0)
        assert held.take(0.1) == 0.0
        assert held.take(0.3) > 0  # four left, expired at 0.25
        assert held.tokens == 0

    def test_refund_only_before_expiry(self):
        held, _ = self.make()
        held.take(0.0)
        held.add(1, 0.0)
        held.take(0.0)
        held.refund(0.1)
        assert held.tokens == 1
        held.take(0.1)
        held.refund(0.3)
        assert held.tokens == 0

    def test_blocked_means_nothing_until_then(self):
        held, _ = self.make()
        held.take(0.0)
        held.add(5, 0.0)
        held.block_until(2.0)
        assert held.take(1.0) == pytest.approx(1.0)
        assert held.tokens == 0

    def test_a_failed_lease_can_be_asked_again(self):
        held, asked = self.make()
        held.take(0.0)
        held.failed()
        held.take(0.0)
        assert len(asked) == 2

    def test_held_tokens_leave_at_the_rate_after_the_burst(self):
        held = LocalLease(80, 24, 0.0, lambda: None, hold_seconds=0.25, burst=4)
        held.take(0.0)
        held.add(12, 0.0)
        assert [held.take(0.0) for _ in range(4)] == [0.0] * 4
        assert held.take(0.0) == pytest.approx(1 / 80)
        assert held.tokens == 8  # waiting for its slot, not lost
        assert held.take(1 / 80) == 0.0
        assert held.take(1 / 80) == pytest.approx(1 / 80)

    def test_a_refunded_token_gives_its_slot_back(self):
        held = LocalLease(80, 24, 0.0, lambda: None, hold_seconds=0.25, burst=1)
        held.take(0.0)
        held.add(3, 0.0)
        assert held.take(0.0) == 0.0
        held.refund(0.0)
        assert held.take(0.0) == 0.0

    def test_refuses_nonsense(self):
        with pytest.raises(ValueError, match="rate"):
            LocalLease(0, 8, 0.0, lambda: None)


class FakeShared:
    """The database's bucket, on the fake clock; every lease answers after ``delay``."""

    def __init__(self, time: FakeTime, delay: float = 0.002) -> None:
        self.time = time
        self.delay = delay
        self.states: dict[str, BucketState] = {}
        self.granted: list[tuple[float, int]] = []
        self.fail = False

    async def lease(self, number: str, rate: float, capacity: float, want: int) -> Grant:
        await self.time.sleep(self.delay)
        if self.fail:
            raise ConnectionError("away")
        grant = lease(self.states.get(number), self.time.monotonic(), rate, capacity, want)
        if grant.granted:
            self.states[number] = grant.state
            self.granted.append((self.time.monotonic(), grant.granted))
        return grant


class TestPacersSharingOneBucket:
    @pytest.mark.parametrize("replicas", [1, 2, 4])
    def test_replicas_together_hold_the_number_rate(self, replicas):
        async def scenario() -> tuple[list[float], float]:
            time = FakeTime()
            shared = FakeShared(time)
            pacers = [Pacers(0.05, time.monotonic, time.sleep, leases=shared)
                      for _ in range(replicas)]
            sent: list[float] = []
            start = time.monotonic()

            async def sender(pacers: Pacers) -> None:
                pacer = pacers.for_channel(channel("n1", mps=80))
                while time.monotonic() - start < 5.0:
                    await pacer.acquire("bulk")
                    sent.append(time.monotonic())

            tasks = [asyncio.create_task(sender(p)) for p in pacers for _ in range(20)]
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
            return sent, start

        sent, start = asyncio.run(scenario())
        elapsed = max(sent) - start
        # docs/outbound_sender.md: capacity (two leases of 0.15 s) + rate x (t + hold: 0.2 s).
        burst = bucket_capacity(80, 0.3) + 80 * 0.2
        assert len(sent) <= burst + 80 * elapsed + 1
        assert len(sent) >= 80 * 5.0 * 0.9
        # Any one second: at most the rate plus that burst.
        for second in range(math.ceil(elapsed)):
            inside = [t for t in sent if start + second <= t < start + second + 1]
            assert len(inside) <= 80 + burst

    @pytest.mark.parametrize("delay", [0.002, 0.3])
    def test_one_replica_is_as_smooth_as_its_own_bucket(self, delay):
        """A slow database lets the shared bucket save up its capacity between two leases; the
        replica still sends no more than the rate plus its 0.05 s burst in any one second."""
        async def scenario() -> tuple[list[float], float]:
            time = FakeTime()
            pacer = Pacers(0.05, time.monotonic, time.sleep,
                           leases=FakeShared(time, delay)).for_channel(channel("n1", mps=80))
            sent: list[float] = []
            start = time.monotonic()

            async def sender() -> None:
                while time.monotonic() - start < 5.0:
                    await pacer.acquire("bulk")
                    sent.append(time.monotonic())

            await asyncio.wait_for(asyncio.gather(*[sender() for _ in range(20)]), timeout=60)
            return sent, start

        sent, _ = asyncio.run(scenario())
        for i, first in enumerate(sent):
            inside = [t for t in sent[i:] if t < first + 1.0]
            assert len(inside) <= 80 + capacity_for(80, 0.05)
        if delay < 0.1:  # a slow database bounds the rate by its round trip (documented)
            assert len(sent) >= 80 * 5.0 * 0.9

    def test_a_database_outage_sends_nothing_then_resumes(self):
        async def scenario() -> None:
            time = FakeTime()
            shared = FakeShared(time)
            shared.fail = True
            pacer = Pacers(0.05, time.monotonic, time.sleep, leases=shared).for_channel(
                channel("n1", mps=80))
            got = asyncio.create_task(pacer.acquire("reply"))
            await time.sleep(2.0)
            assert not got.done()
            shared.fail = False
            await asyncio.wait_for(got, timeout=30)

        asyncio.run(scenario())

    def test_without_leases_it_is_the_local_bucket(self):
        time = FakeTime()
        pacers = Pacers(0.05, time.monotonic, time.sleep, share=0.5)
        assert pacers.for_channel(channel("n1", mps=80)).bucket.rate == 40
