"""Kafka's default key partitioning (aiokafka's Java-compatible murmur2), written once.

webhook_ingest places its records with it; outbound_sender finds the inbound partition of a
conversation with it. Both must agree with the producer's own placement, or a key would land on
one partition and be looked for on another.
"""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner, murmur2


def partition_of(key: bytes, partitions: int) -> int:
    """The producer's default partition for a key among ``partitions`` (numbered 0..n-1)."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


class CachingPartitioner:
    """:func:`partition_of`, remembered per key.

    aiokafka computes murmur2 in pure Python for every record; conversation keys repeat.
    Kafka numbers a topic's partitions 0..n-1, so the index is the partition.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._index: dict[tuple[bytes, int], int] = {}

    def index(self, key: bytes, count: int) -> int:
        slot = (key, count)
        found = self._index.get(slot)
        if found is None:
            if len(self._index) >= self._capacity:
                self._index.clear()
            found = self._index[slot] = partition_of(key, count)
        return found

    def __call__(self, key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
        """The aiokafka partitioner interface (used while the producer waits for metadata)."""
        if key is None:
            return DefaultPartitioner()(key, all_partitions, available)  # type: ignore[no-any-return]
        return all_partitions[self.index(key, len(all_partitions))]
