"""The running infrastructure as one handle, however it was obtained.

Order of preference: ``KAFKA_BOOTSTRAP_SERVERS`` and ``MONGODB_URI`` both set -> use those, start
nothing; a reachable Docker engine (and ``DEVSTACK_DOCKER`` not ``0``) -> testcontainers; else real
processes on loopback (Kafka from Maven jars, mongod or FerretDB).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.kafka import KafkaServer, ensure_kafka_jars
from devstack.mongo import MongoServer
from devstack.paths import SetupError


@dataclass
class RunningStack:
    """Where Kafka and MongoDB answer, and (for a local stack) how to stop and restart each."""

    kafka_bootstrap_servers: str
    mongodb_uri: str
    mode: str  # "external" | "docker" | "local"
    kafka: KafkaServer | None = None
    mongo: MongoServer | None = None
    _extras: list[Any] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "MONGODB_URI": self.mongodb_uri,
        }

    def _require_local(self, what: str) -> None:
        if self.mode != "local":
            raise RuntimeError(
                f"cannot {what}: the infrastructure is {self.mode}, not started here"
            )

    def stop_kafka(self) -> None:
        self._require_local("stop Kafka")
        assert self.kafka is not None
        self.kafka.stop()

    def start_kafka(self) -> None:
        self._require_local("start Kafka")
        assert self.kafka is not None
        self.kafka.start()
        self.kafka.wait_ready()

    def stop_mongo(self) -> None:
        self._require_local("stop MongoDB")
        assert self.mongo is not None
        self.mongo.stop()

    def start_mongo(self) -> None:
        self._require_local("start MongoDB")
        assert self.mongo is not None
        self.mongo.start()
        self.mongo.wait_ready()

    @property
    def controllable(self) -> bool:
        return self.mode == "local"


def docker_available() -> bool:
    if os.environ.get("DEVSTACK_DOCKER", "1") == "0":
        return False
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
        return True
    except Exception:
        return False


def prepare() -> None:
    """Install what a local stack needs (Kafka jars, FerretDB) without starting anything."""
    ensure_kafka_jars()
    MongoServer(Path(tempfile.gettempdir())).prepare()


@contextlib.contextmanager
def local_stack(
    data_dir: Path | None = None, kafka_port: int = 0, mongo_port: int = 0
) -> Iterator[RunningStack]:
    """Yield running infrastructure; everything started here is stopped on exit."""
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    mongo_uri = os.environ.get("MONGODB_URI")
    if bootstrap and mongo_uri:
        yield RunningStack(bootstrap, mongo_uri, "external")
        return
    if docker_available():
        with _docker_stack() as stack:
            yield stack
        return
    temporary = data_dir is None
    root = Path(tempfile.mkdtemp(prefix="devstack-")) if data_dir is None else data_dir
    kafka = KafkaServer(root / "kafka", port=kafka_port)
    mongo = MongoServer(root / "mongo", port=mongo_port)
    try:
        # Build/fetch first (slow once, cached after), then start both and wait in parallel.
        ensure_kafka_jars()
        mongo.prepare()
        kafka.start()
        mongo.start()
        errors: list[BaseException] = []
        waiter = threading.Thread(target=_collect(errors, mongo.wait_ready), daemon=True)
        waiter.start()
        kafka.wait_ready()
        waiter.join()
        if errors:
            raise errors[0]
        yield RunningStack(kafka.bootstrap_servers, mongo.uri, "local", kafka, mongo)
    finally:
        kafka.stop()
        mongo.stop()
        if temporary:
            shutil.rmtree(root, ignore_errors=True)


def _collect(errors: list[BaseException], fn: Any) -> Any:
    def run() -> None:
        try:
            fn()
        except BaseException as exc:
            errors.append(exc)

    return run


@contextlib.contextmanager
def _docker_stack() -> Iterator[RunningStack]:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.mongodb import MongoDbContainer

    kafka = KafkaContainer("apache/kafka:3.9.1").with_kraft()
    mongo = MongoDbContainer("mongo:8.0")
    with kafka, mongo:
        yield RunningStack(kafka.get_bootstrap_server(), mongo.get_connection_url(), "docker")


__all__ = ["RunningStack", "SetupError", "local_stack", "prepare"]
