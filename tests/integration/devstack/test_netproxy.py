"""The fault-injection TCP proxy: against an echo server on loopback, then in front of Kafka.

The echo tests need no broker (unmarked: they run with the unit tests); the Kafka test starts its
own broker with a proxied listener (``integration``).
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from devstack.kafka import KafkaServer
from devstack.netproxy import TcpProxy
from devstack.process import free_port

WAIT = 10.0  # upper bound for anything that should happen; never a speed assertion
QUIET = 0.3  # how long "nothing arrives" is watched


class Echo:
    """An echo server on loopback that counts its connections."""

    def __init__(self) -> None:
        self.port = 0
        self.accepted = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()


@pytest.fixture
async def echo() -> AsyncIterator[Echo]:
    server = Echo()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def proxy(echo: Echo) -> Iterator[TcpProxy]:
    with TcpProxy("127.0.0.1", echo.port) as running:
        yield running


async def connect(proxy: TcpProxy) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(asyncio.open_connection("127.0.0.1", proxy.port), WAIT)


async def roundtrip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    data: bytes) -> bytes:
    writer.write(data)
    await writer.drain()
    return await asyncio.wait_for(reader.readexactly(len(data)), WAIT)


async def closed(reader: asyncio.StreamReader) -> bool:
    """True when the connection ends (EOF or reset) within WAIT."""
    try:
        return await asyncio.wait_for(reader.read(1), WAIT) == b""
    except (ConnectionError, asyncio.IncompleteReadError):
        return True


async def nothing_arrives(reader: asyncio.StreamReader) -> bool:
    try:
        await asyncio.wait_for(reader.read(1), QUIET)
    except TimeoutError:
        return True
    return False


class TestForwarding:
    async def test_bytes_go_both_ways(self, proxy: TcpProxy) -> None:
        reader, writer = await connect(proxy)
        assert await roundtrip(reader, writer, b"hello") == b"hello"
        big = bytes(range(256)) * 4096  # 1 MiB: several chunks, in order
        assert await roundtrip(reader, writer, big) == big
        assert proxy.mode == "forward"
        writer.close()

    async def test_a_given_listen_port_is_known_before_start(self, echo: Echo) -> None:
        port = free_port()
        proxy = TcpProxy("127.0.0.1", echo.port, listen_port=port)
        assert proxy.port == port
        with proxy:
            reader, writer = await connect(proxy)
            assert await roundtrip(reader, writer, b"x") == b"x"
            writer.close()

    async def test_the_client_closing_closes_the_server_side(self, proxy: TcpProxy,
                                                             echo: Echo) -> None:
        reader, writer = await connect(proxy)
        assert await roundtrip(reader, writer, b"ping") == b"ping"
        writer.write_eof()
        assert await closed(reader)
        for _ in range(int(WAIT / 0.02)):
            if proxy.connections == 0:
                break
            await asyncio.sleep(0.02)
        assert proxy.connections == 0

    def test_only_loopback_targets(self) -> None:
        with pytest.raises(ValueError, match="loopback"):
            TcpProxy("10.0.0.1", 9092)

    async def test_stop_closes_open_connections(self, echo: Echo) -> None:
        proxy = TcpProxy("127.0.0.1", echo.port)
        proxy.start()
        reader, _ = await connect(proxy)
        proxy.stop()
        assert await closed(reader)


class TestCut:
    async def test_open_connections_are_closed_at_once(self, proxy: TcpProxy) -> None:
        reader, writer = await connect(proxy)
        assert await roundtrip(reader, writer, b"a") == b"a"
        proxy.cut()
        assert proxy.mode == "cut"
        assert await closed(reader)

    async def test_new_connections_are_closed_on_accept(self, proxy: TcpProxy,
                                                        echo: Echo) -> None:
        proxy.cut()
        before = echo.accepted
        reader, writer = await connect(proxy)
        writer.write(b"lost")
        assert await closed(reader)
        assert echo.accepted == before  # never reached the server

    async def test_restore_lets_new_connections_through(self, proxy: TcpProxy) -> None:
        proxy.cut()
        proxy.restore()
        reader, writer = await connect(proxy)
        assert await roundtrip(reader, writer, b"back") == b"back"
        writer.close()


class TestStall:
    async def test_bytes_are_held_until_restore_then_forwarded_in_order(
            self, proxy: TcpProxy) -> None:
        reader, writer = await connect(proxy)
        assert await roundtrip(reader, writer, b"before") == b"before"
        proxy.stall()
        assert proxy.mode == "stall"
        writer.write(b"one,")
        writer.write(b"two")
        await writer.drain()
        assert await nothing_arrives(reader)
        proxy.restore()
        assert await asyncio.wait_for(reader.readexactly(7), WAIT) == b"one,two"
        writer.close()

    async def test_new_connections_are_accepted_but_stalled(self, proxy: TcpProxy) -> None:
        proxy.stall()
        reader, writer = await connect(proxy)
        writer.write(b"held")
        await writer.drain()
        assert await nothing_arrives(reader)
        proxy.restore()
        assert await asyncio.wait_for(reader.readexactly(4), WAIT) == b"held"
        writer.close()

    async def test_cut_during_a_stall_closes_the_held_connections(self, proxy: TcpProxy) -> None:
        reader, writer = await connect(proxy)
        proxy.stall()
        writer.write(b"never")
        await writer.drain()
        proxy.cut()
        assert await closed(reader)


class TestDelay:
    async def test_every_chunk_arrives_later_and_in_order(self, proxy: TcpProxy) -> None:
        reader, writer = await connect(proxy)
        proxy.delay(0.2)
        assert proxy.mode == "delay"
        loop = asyncio.get_running_loop()
        started = loop.time()
        for n in range(5):
            writer.write(f"{n};".encode())
            await writer.drain()
        got = await asyncio.wait_for(reader.readexactly(10), WAIT)
        assert got == b"0;1;2;3;4;"
        # Through two delayed directions (there and back): the echo took at least 2 x 0.2 s.
        assert loop.time() - started >= 0.4 * 0.9
        writer.close()

    async def test_restore_forwards_delayed_bytes_at_once(self, proxy: TcpProxy) -> None:
        reader, writer = await connect(proxy)
        proxy.delay(3600)
        writer.write(b"late")
        await writer.drain()
        assert await nothing_arrives(reader)
        proxy.restore()
        assert await asyncio.wait_for(reader.readexactly(4), WAIT) == b"late"
        writer.close()

    def test_a_negative_delay_is_refused(self, proxy: TcpProxy) -> None:
        with pytest.raises(ValueError, match="negative"):
            proxy.delay(-1)


class TestThreadSafety:
    async def test_modes_can_be_changed_from_another_thread(self, proxy: TcpProxy) -> None:
        reader, writer = await connect(proxy)
        await asyncio.to_thread(proxy.stall)
        writer.write(b"t")
        await writer.drain()
        assert await nothing_arrives(reader)
        await asyncio.to_thread(proxy.restore)
        assert await asyncio.wait_for(reader.readexactly(1), WAIT) == b"t"
        writer.close()


# -- Kafka through the proxy ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def proxied_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[KafkaServer,
                                                                                TcpProxy]]:
    if shutil.which("java") is None:
        pytest.skip("no java on PATH: the devstack Kafka cannot start")
    advertised = free_port()
    kafka = KafkaServer(Path(tmp_path_factory.mktemp("proxied-kafka")),
                        advertised_port=advertised)
    kafka.start()
    try:
        kafka.wait_ready()
        with TcpProxy("127.0.0.1", kafka.proxied_listen_port, listen_port=advertised) as proxy:
            yield kafka, proxy
    finally:
        kafka.stop()


async def produce_and_consume(bootstrap: str, topic: str, value: bytes) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                request_timeout_ms=3000, metadata_max_age_ms=1000)
    await producer.start()
    try:
        sent = await asyncio.wait_for(producer.send_and_wait(topic, value), WAIT)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                request_timeout_ms=3000)
    await consumer.start()
    try:
        tp = TopicPartition(topic, sent.partition)
        consumer.assign([tp])
        consumer.seek(tp, sent.offset)
        batch = await consumer.getmany(tp, timeout_ms=int(WAIT * 1000))
        assert [record.value for record in batch.get(tp, [])][:1] == [value]
    finally:
        await consumer.stop()


async def create_topic(bootstrap: str, topic: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()


@pytest.mark.integration
class TestKafkaThroughTheProxy:
    async def test_clients_are_cut_off_by_a_cut_and_work_again_after_restore(
            self, proxied_kafka: tuple[KafkaServer, TcpProxy]) -> None:
        from aiokafka import AIOKafkaProducer
        from aiokafka.errors import KafkaError

        kafka, proxy = proxied_kafka
        assert kafka.proxied_bootstrap_servers == f"127.0.0.1:{proxy.port}"
        topic = f"proxied-{uuid.uuid4().hex[:8]}"
        await create_topic(kafka.bootstrap_servers, topic)  # the direct listener still works
        await produce_and_consume(kafka.proxied_bootstrap_servers, topic, b"through")

        # A producer bootstrapped through the proxy keeps talking to the proxy (the advertised
        # address), so a cut really cuts it off.
        producer = AIOKafkaProducer(bootstrap_servers=kafka.proxied_bootstrap_servers,
                                    acks="all", request_timeout_ms=2000,
                                    retry_backoff_ms=100)
        await producer.start()
        try:
            await asyncio.wait_for(producer.send_and_wait(topic, b"before"), WAIT)
            proxy.cut()
            with pytest.raises((KafkaError, TimeoutError)):
                await asyncio.wait_for(producer.send_and_wait(topic, b"during"), 5)
            proxy.restore()
            await asyncio.wait_for(producer.send_and_wait(topic, b"after"), 30)
        finally:
            proxy.restore()
            await producer.stop()
        await produce_and_consume(kafka.proxied_bootstrap_servers, topic, b"again")

    async def test_a_restarted_broker_keeps_its_ports(
            self, proxied_kafka: tuple[KafkaServer, TcpProxy]) -> None:
        kafka, _ = proxied_kafka
        ports = (kafka.port, kafka.proxied_listen_port, kafka.proxied_bootstrap_servers)
        kafka.stop()
        kafka.start()
        kafka.wait_ready()
        assert (kafka.port, kafka.proxied_listen_port, kafka.proxied_bootstrap_servers) == ports
        topic = f"proxied-{uuid.uuid4().hex[:8]}"
        await create_topic(kafka.bootstrap_servers, topic)
        await produce_and_consume(kafka.proxied_bootstrap_servers, topic, b"restarted")
