"""Apache Kafka, single node in KRaft mode, from Maven Central jars, run with ``java``."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path

from devstack.paths import CACHE_DIR, POM, SetupError
from devstack.process import ManagedProcess, free_port, port_in_use, wait_port_free


def kafka_version() -> str:
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", POM.read_text())
    if not match:
        raise SetupError(f"no <kafka.version> in {POM}")
    return match.group(1)


def libs_dir() -> Path:
    return CACHE_DIR / f"kafka-{kafka_version()}" / "libs"


def ensure_kafka_jars() -> Path:
    """Fetch the broker's jars once (``mvn dependency:copy-dependencies``); cached by pom hash."""
    libs = libs_dir()
    stamp = libs / ".pom-sha256"
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return libs
    for tool in ("java", "mvn"):
        if shutil.which(tool) is None:
            raise SetupError(f"`{tool}` not found on PATH: Kafka needs a JDK 17+ and Maven")
    if libs.exists():
        shutil.rmtree(libs)
    result = subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={libs}",
            "-DincludeScope=runtime",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SetupError(
            "fetching Kafka jars with Maven failed:\n"
            + result.stdout[-2000:]
            + result.stderr[-2000:]
        )
    stamp.write_text(digest)
    return libs


_LOG4J = """\
log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
"""


class KafkaServer:
    """One KRaft broker+controller on loopback. ``port`` 0 picks a free port.

    With ``advertised_port``, a second listener (``PROXIED``) on its own free port
    (``proxied_listen_port``) advertises ``127.0.0.1:{advertised_port}``: clients bootstrapped at
    ``proxied_bootstrap_servers`` are sent back there, where a test runs a
    :class:`devstack.netproxy.TcpProxy` to ``proxied_listen_port``, so every connection they
    make goes through the proxy. The ``PLAINTEXT`` listener (inter-broker, controller,
    ``bootstrap_servers``) stays direct. Ports are chosen once: a restart keeps them.
    """

    def __init__(self, data_dir: Path, port: int = 0, partitions: int = 3,
                 advertised_port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.controller_port = free_port()
        self.partitions = partitions
        self.advertised_port = advertised_port
        self.proxied_listen_port = free_port() if advertised_port is not None else 0
        self.process: ManagedProcess | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def proxied_bootstrap_servers(self) -> str:
        """Where clients that should go through the proxy bootstrap (the advertised address)."""
        if self.advertised_port is None:
            raise RuntimeError("this KafkaServer has no proxied listener (no advertised_port)")
        return f"127.0.0.1:{self.advertised_port}"

    def _listeners(self) -> list[str]:
        listeners = [f"listeners=PLAINTEXT://127.0.0.1:{self.port},"
                     f"CONTROLLER://127.0.0.1:{self.controller_port}",
                     f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                     "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"]
        if self.advertised_port is not None:
            listeners = [f"{listeners[0]},PROXIED://127.0.0.1:{self.proxied_listen_port}",
                         f"{listeners[1]},PROXIED://127.0.0.1:{self.advertised_port}",
                         f"{listeners[2]},PROXIED:PLAINTEXT"]
        return listeners

    def _write_config(self) -> Path:
        logs = self.data_dir / "kraft-logs"
        config = self.data_dir / "server.properties"
        config.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
                    *self._listeners(),
                    "controller.listener.names=CONTROLLER",
                    "inter.broker.listener.name=PLAINTEXT",
                    f"log.dirs={logs}",
                    f"num.partitions={self.partitions}",
                    "auto.create.topics.enable=false",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=5",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "transaction.state.log.num.partitions=5",
                    "group.initial.rebalance.delay.ms=0",
                    "message.max.bytes=5242880",
                    "delete.topic.enable=true",
                    "",
                ]
            )
        )
        (self.data_dir / "log4j.properties").write_text(_LOG4J)
        return config

    def start(self) -> None:
        for port in (self.port, self.proxied_listen_port):
            if port and port_in_use(port):
                raise SetupError(f"port {port} is in use: is another Kafka (or devstack) running?")
        libs = ensure_kafka_jars()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        classpath = f"{libs}/*"
        if not (self.data_dir / "kraft-logs" / "meta.properties").exists():
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            result = subprocess.run(
                [
                    "java",
                    "-cp",
                    classpath,
                    f"-Dlog4j.configuration=file:{self.data_dir}/log4j.properties",
                    "kafka.tools.StorageTool",
                    "format",
                    # One token: a random id may start with "-" and read as an option.
                    f"--cluster-id={cluster_id}",
                    "-c",
                    str(config),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                raise SetupError(
                    "formatting Kafka storage failed: " + result.stdout + result.stderr
                )
        self.process = ManagedProcess(
            "kafka",
            [
                "java",
                "-Xms256m",
                "-Xmx768m",
                "-XX:+UseG1GC",
                "-XX:TieredStopAtLevel=1",
                "-Djava.awt.headless=true",
                f"-Dlog4j.configuration=file:{self.data_dir}/log4j.properties",
                "-cp",
                classpath,
                "kafka.Kafka",
                str(config),
            ],
            self.data_dir / "kafka.log",
        )
        self.process.start()

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Until a record produced with acks=all is consumed back."""
        deadline = time.monotonic() + timeout
        last_error = "no answer"
        while time.monotonic() < deadline:
            if self.process is not None and not self.process.alive():
                raise SetupError("Kafka exited at start-up:\n" + self.process.log_tail())
            if port_in_use(self.port):
                try:
                    _run_in_thread(_probe(self.bootstrap_servers))
                    return
                except Exception as exc:  # not ready yet
                    last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(0.3)
        log_tail = self.process.log_tail() if self.process else ""
        raise SetupError(f"Kafka did not become ready in {timeout:.0f}s ({last_error})\n{log_tail}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None
        wait_port_free(self.port)
        wait_port_free(self.controller_port)
        if self.proxied_listen_port:
            wait_port_free(self.proxied_listen_port)


async def _probe(bootstrap: str) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    topic = "__devstack_probe"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            try:
                await admin.create_topics([NewTopic(topic, 1, 1)])
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, request_timeout_ms=5000
    )
    await producer.start()
    try:
        sent = await asyncio.wait_for(producer.send_and_wait(topic, b"ping"), 10)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek(tp, sent.offset)
        batch = await consumer.getmany(tp, timeout_ms=5000)
        if not batch.get(tp):
            raise RuntimeError("probe record not consumed back")
    finally:
        await consumer.stop()


def _run_in_thread(coro: object) -> None:
    """Run a coroutine on its own loop, even when called from inside a running loop."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coro)  # type: ignore[arg-type]
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
