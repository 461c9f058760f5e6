"""Keyed processing: order within a conversation, concurrency across, commits that never skip."""

import asyncio
import random

import pytest

from services.outbound_sender.lanes import Lanes, OffsetTracker


class TestOffsetTracker:
    def test_commits_up_to_the_first_unfinished_offset(self):
        tracker: OffsetTracker[str] = OffsetTracker()
        for offset in (10, 11, 12):
            tracker.add("p0", offset)
        assert tracker.committable({"p0": 13}) == {"p0": 10}
        tracker.finish("p0", 11)
        assert tracker.committable({}) == {}  # 10 still holds the position
        tracker.finish("p0", 10)
        assert tracker.committable({}) == {"p0": 12}
        tracker.finish("p0", 12)
        assert tracker.committable({}) == {"p0": 13}
        assert tracker.outstanding == 0

    def test_records_never_handed_out_do_not_hold_commits(self):
        # Undecodable (dead-lettered) records and commands the sender ignores are never added.
        tracker: OffsetTracker[str] = OffsetTracker()
        tracker.add("p0", 5)
        tracker.finish("p0", 5)
        assert tracker.committable({"p0": 9}) == {"p0": 9}

    def test_partitions_are_independent(self):
        tracker: OffsetTracker[str] = OffsetTracker()
        tracker.add("p0", 0)
        tracker.add("p1", 0)
        tracker.finish("p1", 0)
        assert tracker.committable({"p0": 1, "p1": 1}) == {"p0": 0, "p1": 1}

    def test_forgotten_partition_starts_afresh(self):
        tracker: OffsetTracker[str] = OffsetTracker()
        tracker.add("p0", 3)
        tracker.committable({"p0": 4})
        tracker.forget(["p0"])
        assert tracker.outstanding == 0
        tracker.finish("p0", 3)  # a late finish of a forgotten offset is ignored
        assert tracker.committable({"p0": 2}) == {"p0": 2}


class TestLanes:
    async def test_each_key_in_order_keys_concurrently(self):
        done: list[tuple[str, int]] = []
        rng = random.Random(3)

        async def work(item: tuple[str, int]) -> None:
            await asyncio.sleep(rng.random() / 1000)
            done.append(item)

        lanes: Lanes[str, tuple[str, int]] = Lanes(work, lambda item: None)
        for i in range(20):
            for key in "abc":
                lanes.submit(key, (key, i))
        await asyncio.wait_for(lanes.wait_idle(), 5)
        for key in "abc":
            assert [i for k, i in done if k == key] == list(range(20))
        # Interleaved: no key waited for another to finish.
        assert [k for k, _ in done[:3]] != ["a", "a", "a"]

    async def test_a_stalled_conversation_holds_up_nobody_else(self):
        stalled = asyncio.Event()
        done: list[str] = []

        async def work(item: str) -> None:
            if item == "a1":
                await stalled.wait()  # e.g. Meta's pair rate limit for this customer
            done.append(item)

        lanes: Lanes[str, str] = Lanes(work, lambda item: None)
        lanes.submit("a", "a1")
        lanes.submit("a", "a2")
        for i in range(5):
            lanes.submit("b", f"b{i}")
        while len(done) < 5:  # noqa: ASYNC110 - polling the effect under test
            await asyncio.sleep(0.001)
        assert done == ["b0", "b1", "b2", "b3", "b4"]
        stalled.set()
        await asyncio.wait_for(lanes.wait_idle(), 5)
        assert done[5:] == ["a1", "a2"]

    async def test_drain_drops_what_waits_and_lets_what_runs_finish(self):
        started = asyncio.Event()
        release = asyncio.Event()
        finished: list[str] = []

        async def work(item: str) -> None:
            async def critical() -> None:
                started.set()
                await release.wait()
                finished.append(item)
            task = asyncio.ensure_future(critical())
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                await task
                raise

        lanes: Lanes[str, str] = Lanes(work, lambda item: None)
        lanes.submit("a", "running")
        lanes.submit("a", "waiting")
        await started.wait()
        drain = asyncio.create_task(lanes.drain(timeout=5))
        await asyncio.sleep(0.01)
        release.set()
        assert await drain == 0
        assert finished == ["running"]
        assert len(lanes) == 0

    async def test_failing_work_is_retried_in_place_keeping_the_order(self):
        attempts: list[str] = []

        async def work(item: str) -> None:
            attempts.append(item)
            if attempts.count("x") == 1 and item == "x":
                raise RuntimeError("bug")

        lanes: Lanes[str, str] = Lanes(work, lambda item: None, retry_seconds=0.001)
        lanes.submit("k", "x")
        lanes.submit("k", "y")
        await asyncio.wait_for(lanes.wait_idle(), 5)
        assert attempts == ["x", "x", "y"]


@pytest.mark.parametrize("keys", [1, 7])
async def test_done_callback_sees_every_item_once(keys):
    seen: list[int] = []

    async def work(item: int) -> None:
        await asyncio.sleep(0)

    lanes: Lanes[int, int] = Lanes(work, seen.append)
    for i in range(50):
        lanes.submit(i % keys, i)
    await asyncio.wait_for(lanes.wait_idle(), 5)
    assert sorted(seen) == list(range(50))
