"""Session-wide real infrastructure, and per-test isolation by topic prefix and database name.

The stack is started once per session (devstack: Kafka from Maven jars and mongod/FerretDB, or
testcontainers with a Docker engine, or the servers named by KAFKA_BOOTSTRAP_SERVERS/MONGODB_URI).
Each test gets its own topic prefix and database, so tests never see each other's data.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from devstack.stack import RunningStack, local_stack
from shared.config import InfraSettings
from shared.events.topics import ALL_TOPICS, DLQ_TOPICS
from shared.kafka import ensure_topics, make_producer

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

TEST_PARTITIONS = 3


class InfraHandle:
    """Endpoints, plus stop/start for failure tests (local stack only)."""

    def __init__(self, stack: RunningStack) -> None:
        self.stack = stack
        self.kafka_bootstrap_servers = stack.kafka_bootstrap_servers
        self.mongodb_uri = stack.mongodb_uri

    def _local(self) -> None:
        if not self.stack.controllable:
            pytest.skip(f"infrastructure is {self.stack.mode}: cannot stop or start it")

    def stop_kafka(self) -> None:
        self._local()
        self.stack.stop_kafka()

    def start_kafka(self) -> None:
        self._local()
        self.stack.start_kafka()

    def stop_mongo(self) -> None:
        self._local()
        self.stack.stop_mongo()

    def start_mongo(self) -> None:
        self._local()
        self.stack.start_mongo()


@pytest.fixture(scope="session")
def infra() -> Iterator[InfraHandle]:
    with local_stack() as stack:
        yield InfraHandle(stack)


def unique_name(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def settings(infra: InfraHandle) -> InfraSettings:
    name = unique_name()
    result = InfraSettings(
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        mongodb_uri=infra.mongodb_uri,
        mongodb_database=name,
        topic_prefix=f"{name}.",
        topic_partitions=TEST_PARTITIONS,
    )
    await ensure_topics(result, [*ALL_TOPICS, *DLQ_TOPICS])
    return result


@pytest.fixture(scope="session")
async def mongo_client(infra: InfraHandle) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        infra.mongodb_uri, tz_aware=True, serverSelectionTimeoutMS=10000
    )
    yield client
    await client.close()


@pytest.fixture
async def db(
    mongo_client: AsyncMongoClient[dict[str, Any]], settings: InfraSettings
) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    database = mongo_client[settings.mongodb_database]
    yield database
    try:
        await mongo_client.drop_database(settings.mongodb_database)
    except Exception:
        pass  # a test that stopped the database may leave it unreachable for a moment


@pytest.fixture
async def producer(settings: InfraSettings) -> AsyncIterator[Any]:
    kafka_producer = make_producer(settings)
    await kafka_producer.start()
    yield kafka_producer
    await kafka_producer.stop()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Every span the services make, kept in memory (tracing on for this test only)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from shared import tracing

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_provider(provider)
    try:
        yield exporter
    finally:
        tracing.use_provider(None)
        provider.shutdown()
