"""``python -m devstack.topics`` (docker-compose's ``topics`` job) creates every versioned topic
and its DLQ on a real broker, and running it again changes nothing."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from shared.events.topics import ALL_TOPICS, DLQ_TOPICS
from tests.conftest import InfraHandle, unique_name

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


async def _topics(bootstrap: str, prefix: str) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if t.startswith(prefix)]
        described = await admin.describe_topics(names)
        return {d["topic"].removeprefix(prefix): len(d["partitions"]) for d in described}
    finally:
        await admin.close()


def test_creates_every_topic_once(infra: InfraHandle):
    prefix = f"{unique_name()}."
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
           "KAFKA_TOPIC_PREFIX": prefix, "KAFKA_TOPIC_PARTITIONS": "3"}
    for _ in range(2):  # the second run finds them all in place
        done = subprocess.run([sys.executable, "-m", "devstack.topics"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
    topics = asyncio.run(_topics(infra.kafka_bootstrap_servers, prefix))
    assert topics == dict.fromkeys([*ALL_TOPICS, *DLQ_TOPICS], 3)
