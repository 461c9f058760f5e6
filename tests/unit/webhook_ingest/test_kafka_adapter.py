from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from aiokafka.partitioner import DefaultPartitioner

from services.webhook_ingest.adapters.kafka import CachingPartitioner, RawWebhook, all_acknowledged
from services.webhook_ingest.errors import PublishFailed


class TestCachingPartitioner:
    @pytest.mark.parametrize("count", [1, 3, 6, 50])
    def test_places_keys_exactly_like_the_default_partitioner(self, count: int) -> None:
        partitions = list(range(count))
        cached = CachingPartitioner(capacity=10)  # small: eviction is exercised too
        for i in range(200):
            key = f"106540352242922:1650555{i:04d}".encode()
            expected = DefaultPartitioner()(key, partitions, partitions)
            assert cached(key, partitions, partitions) == expected
            assert cached.index(key, count) == expected

    def test_keyless_records_go_to_an_available_partition(self) -> None:
        assert CachingPartitioner()(None, [0, 1, 2], [2]) == 2


class TestAllAcknowledged:
    async def test_resolves_once_every_record_is_acknowledged(self) -> None:
        loop = asyncio.get_running_loop()
        acks = [loop.create_future() for _ in range(3)]
        done = all_acknowledged(acks)
        acks[0].set_result(object())
        acks[2].set_result(object())
        await asyncio.sleep(0)
        assert not done.done()
        acks[1].set_result(object())
        await done

    async def test_fails_at_the_first_refusal(self) -> None:
        loop = asyncio.get_running_loop()
        acks = [loop.create_future() for _ in range(2)]
        done = all_acknowledged(acks)
        acks[1].set_exception(RuntimeError("NotEnoughReplicas"))
        with pytest.raises(PublishFailed, match="NotEnoughReplicas"):
            await done
        acks[0].set_exception(RuntimeError("late"))  # ignored, and not warned about
        await asyncio.sleep(0)

    async def test_nothing_to_wait_for_is_done(self) -> None:
        await all_acknowledged([])


class TestRawWebhook:
    def test_record_key_and_headers(self) -> None:
        at = datetime(2025, 6, 16, 12, 0, 1, tzinfo=UTC)
        raw = RawWebhook(b"{}", "sha256=ab", at, "102290129340398")
        assert raw.key() == b"102290129340398"
        assert raw.headers() == [("x-hub-signature-256", b"sha256=ab"),
                                 ("received-at", b"2025-06-16T12:00:01+00:00")]
        assert RawWebhook(b"{}", "s", at, None).key() == b"unknown"
