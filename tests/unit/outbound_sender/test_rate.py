"""The token bucket (pure, explicit time) and the pacer (fake clock and sleep)."""

import asyncio

import pytest

from services.outbound_sender.rate import Pacer, Pacers, TokenBucket, capacity_for
from tests.unit.outbound_sender.fakes import FakeTime, channel


class TestTokenBucket:
    def test_starts_full_then_refills_at_the_rate(self):
        bucket = TokenBucket(rate=80, capacity=4, now=0.0)
        assert [bucket.take(0.0) for _ in range(4)] == [0.0] * 4
        assert bucket.take(0.0) == pytest.approx(1 / 80)
        assert bucket.take(1 / 80) == 0.0

    def test_never_saves_more_than_its_capacity(self):
        bucket = TokenBucket(rate=1000, capacity=50, now=0.0)
        taken = sum(1 for _ in range(100) if bucket.take(60.0) == 0.0)
        assert taken == 50

    def test_sustained_rate_over_ten_seconds(self):
        bucket = TokenBucket(rate=1000, capacity=50, now=0.0)
        now, sent = 0.0, 0
        while now < 10.0:
            wait = bucket.take(now)
            if wait == 0.0:
                sent += 1
            else:
                now += wait
        # 10 s at 1,000/s plus the initial burst of 50.
        assert 10_000 <= sent <= 10_050 + 1

    def test_a_refund_gives_the_token_back(self):
        bucket = TokenBucket(rate=10, capacity=1, now=0.0)
        assert bucket.take(0.0) == 0.0
        bucket.refund(0.0)
        assert bucket.take(0.0) == 0.0

    def test_blocked_bucket_gives_nothing_until_the_block_ends(self):
        bucket = TokenBucket(rate=100, capacity=10, now=0.0)
        bucket.block_until(5.0)
        assert bucket.take(1.0) == pytest.approx(4.0 + 1 / 100)
        assert bucket.take(5.0 + 1 / 100) == 0.0

    def test_rate_change_keeps_no_more_than_the_new_capacity(self):
        bucket = TokenBucket(rate=1000, capacity=50, now=0.0)
        bucket.set_rate(80, 4, now=0.0)
        assert sum(1 for _ in range(10) if bucket.take(0.0) == 0.0) == 4

    @pytest.mark.parametrize(("rate", "capacity"), [(0, 1), (10, 0.5)])
    def test_rejects_nonsense(self, rate, capacity):
        with pytest.raises(ValueError, match="rate"):
            TokenBucket(rate, capacity, 0.0)

    def test_capacity_is_a_burst_of_the_rate(self):
        assert capacity_for(1000, 0.05) == 50
        assert capacity_for(80, 0.05) == 4
        assert capacity_for(16, 0.05) == 2  # room to catch up a late wake-up


def pacer(time: FakeTime, rate: float, capacity: float) -> Pacer:
    return Pacer(TokenBucket(rate, capacity, time.monotonic()), time.monotonic, time.sleep)


class TestPacer:
    async def test_paces_at_the_rate(self):
        time = FakeTime()
        p = pacer(time, rate=1000, capacity=50)
        start = time.monotonic()
        await asyncio.gather(*[p.acquire("bulk") for _ in range(5050)])
        # The first 50 are the saved burst, the next 5,000 take 5 s.
        assert time.monotonic() - start == pytest.approx(5.0, rel=0.01)

    async def test_late_wake_ups_are_caught_up(self):
        time = FakeTime()

        async def late_sleep(seconds: float) -> None:
            time.advance(seconds + 0.005)  # every timer fires 5 ms late (a busy event loop)
            await asyncio.sleep(0)

        p = Pacer(TokenBucket(16, capacity_for(16, 0.05), time.monotonic()), time.monotonic,
                  late_sleep)
        start = time.monotonic()
        await asyncio.gather(*[p.acquire("bulk") for _ in range(162)])  # 2 saved + 160 paced
        assert time.monotonic() - start == pytest.approx(10.0, rel=0.01)

    async def test_replies_go_before_waiting_bulk(self):
        time = FakeTime()
        p = pacer(time, rate=10, capacity=1)
        order: list[str] = []

        async def send(name: str, priority: str) -> None:
            await p.acquire(priority)  # type: ignore[arg-type]
            order.append(name)

        bulk = [asyncio.create_task(send(f"bulk{i}", "bulk")) for i in range(5)]
        await asyncio.sleep(0)
        replies = [asyncio.create_task(send(f"reply{i}", "reply")) for i in range(2)]
        await asyncio.gather(*bulk, *replies)
        # bulk0 took the one saved token at once; every reply then beats the waiting bulk.
        assert order[:3] == ["bulk0", "reply0", "reply1"]
        assert order[3:] == ["bulk1", "bulk2", "bulk3", "bulk4"]

    async def test_campaigns_on_one_number_take_turns(self):
        time = FakeTime()
        p = pacer(time, rate=10, capacity=1)
        await p.acquire("bulk", "warm-up")  # the saved token: everything below waits
        order: list[str] = []

        async def send(campaign: str) -> None:
            await p.acquire("bulk", campaign)
            order.append(campaign)

        tasks = [asyncio.create_task(send("big")) for _ in range(4)]
        tasks += [asyncio.create_task(send("small")) for _ in range(2)]
        await asyncio.gather(*tasks)
        assert order == ["big", "small", "big", "small", "big", "big"]

    async def test_penalty_holds_every_send_of_the_number(self):
        time = FakeTime()
        p = pacer(time, rate=100, capacity=10)
        p.penalize(3.0)
        start = time.monotonic()
        await p.acquire("reply")
        assert time.monotonic() - start >= 3.0

    async def test_cancelled_waiter_does_not_lose_a_token(self):
        time = FakeTime()
        p = pacer(time, rate=1, capacity=1)
        await p.acquire("bulk")
        waiter = asyncio.create_task(p.acquire("bulk"))
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert p.waiting == 0


class TestPacers:
    def test_one_pacer_per_number_at_its_throughput(self):
        time = FakeTime()
        pacers = Pacers(0.05, time.monotonic, time.sleep)
        slow, fast = pacers.for_channel(channel("n1", mps=80)), pacers.for_channel(
            channel("n2", mps=1000))
        assert slow is not fast
        assert (slow.bucket.rate, fast.bucket.rate) == (80, 1000)
        assert pacers.for_channel(channel("n1", mps=80)) is slow

    def test_throughput_change_applies_to_the_existing_bucket(self):
        time = FakeTime()
        pacers = Pacers(0.05, time.monotonic, time.sleep)
        first = pacers.for_channel(channel("n1", mps=80))
        again = pacers.for_channel(channel("n1", mps=1000))
        assert again is first
        assert first.bucket.rate == 1000

    def test_share_leaves_room_for_inbound(self):
        time = FakeTime()
        pacers = Pacers(0.05, time.monotonic, time.sleep, share=0.9)
        assert pacers.for_channel(channel("n1", mps=80)).bucket.rate == pytest.approx(72)
