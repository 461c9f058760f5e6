from __future__ import annotations

import pytest
from aiokafka.partitioner import DefaultPartitioner

from shared.partitioning import CachingPartitioner, partition_of

KEYS = [f"106540352242922:1650555{i:04d}".encode() for i in range(500)] + [
    b"", b"x", b"\x00\xff\x80", b"1065:5511998765432", "añ:ü".encode(), b"k" * 1000,
]


class TestPartitionOf:
    @pytest.mark.parametrize("count", [1, 2, 3, 6, 12, 50, 1000])
    def test_agrees_with_aiokafkas_default_partitioner(self, count: int) -> None:
        partitions = list(range(count))
        for key in KEYS:
            assert partition_of(key, count) == DefaultPartitioner()(key, partitions, partitions)


class TestCachingPartitioner:
    @pytest.mark.parametrize("count", [1, 3, 6, 50])
    def test_places_keys_exactly_like_the_default_partitioner(self, count: int) -> None:
        partitions = list(range(count))
        cached = CachingPartitioner(capacity=10)  # small: eviction is exercised too
        for key in KEYS[:200] * 2:  # twice: the second pass answers from the cache
            expected = DefaultPartitioner()(key, partitions, partitions)
            assert cached(key, partitions, partitions) == expected
            assert cached.index(key, count) == expected

    def test_keyless_records_go_to_an_available_partition(self) -> None:
        assert CachingPartitioner()(None, [0, 1, 2], [2]) == 2
