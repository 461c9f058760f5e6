"""The fault suite's own stack: Kafka and MongoDB behind TCP proxies, every service and the
WhatsApp sandbox as real processes, each replica startable, killable and restartable.

Nothing here is shared with the rest of the test session: the suite stops and starts the servers,
so it cannot run against servers named by ``KAFKA_BOOTSTRAP_SERVERS``/``MONGODB_URI``
(:func:`skip_reason`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from devstack.kafka import KafkaServer, ensure_kafka_jars
from devstack.mongo import MongoServer
from devstack.netproxy import TcpProxy
from devstack.process import ManagedProcess, free_port
from sandbox.catalog import demo_templates
from sandbox.testing import SandboxClient, SandboxControlError
from services.inbox_api.admin import create_tenant
from shared.channels import Channel
from shared.config import InfraSettings
from shared.events.topics import ALL_TOPICS, DLQ_TOPICS
from shared.kafka import ensure_topics
from shared.templates import TEMPLATES_COLLECTION, template_doc_id

Document = dict[str, Any]

APP_SECRET = "reliability-app-secret"
VERIFY_TOKEN = "reliability-verify-token"
TENANT = "rel"
WABA = "200000000000301"
PARTITIONS = 3
# A service that is not ready this long after a fault ended has not recovered (the suite reports
# the measured figure; this generous bound only turns "never" into a failure).
READY_BOUND_SECONDS = 60.0
# The consumer services (and their replicas); the others run once.
REPLICATED = ("conversation_store", "outbound_sender")
SERVICES = ("webhook_ingest", "conversation_store", "outbound_sender", "inbox_api")


def skip_reason() -> str | None:
    """Why the suite cannot run here, or None."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or os.environ.get("MONGODB_URI"):
        return ("the fault suite stops and starts Kafka and MongoDB itself; it does not run "
                "against servers named by KAFKA_BOOTSTRAP_SERVERS/MONGODB_URI")
    if shutil.which("java") is None:
        return "the fault suite needs java on PATH for its own Kafka"
    return None


def channels() -> list[Channel]:
    """Three business numbers of one tenant (one account, so one template catalog)."""
    return [Channel(phone_number_id=f"10000000000030{n}", tenant_id=TENANT, waba_id=WABA,
                    display_phone_number=f"1555000030{n}",
                    access_token=SecretStr(f"rel-token-{n}"), throughput_mps=80)
            for n in (1, 2, 3)]


class Service:
    """One replica of one service as a process, on a fixed port that survives restarts."""

    def __init__(self, name: str, replica: int, module: str, env: dict[str, str],
                 port: int, ready_path: str, log_dir: Path) -> None:
        self.name = name
        self.replica = replica
        self.port = port
        self.ready_url = f"http://127.0.0.1:{port}{ready_path}"
        self.process = ManagedProcess(f"{name}-{replica}", [sys.executable, "-m", module],
                                      log_dir / f"{name}-{replica}.log", env=env,
                                      cwd=Path.cwd())
        self.starts = 0

    @property
    def label(self) -> str:
        return self.name if self.replica == 0 else f"{self.name}#{self.replica}"

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def start(self) -> None:
        self.process.start()
        self.starts += 1

    def alive(self) -> bool:
        return self.process.alive()

    def kill(self) -> None:
        """SIGKILL, as the kernel's OOM killer or a node loss would."""
        proc = self.process.proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        self.process.proc = None

    def terminate(self, timeout: float = 40.0) -> int | None:
        """SIGTERM and wait (then SIGKILL): a rolling restart's stop. Returns the exit code."""
        proc = self.process.proc
        code = proc.poll() if proc is not None else None
        if proc is not None and code is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                code = proc.wait(timeout)
            except Exception:
                self.kill()
                return None
        self.process.proc = None
        return code

    def rss_kib(self) -> int | None:
        """Resident memory of the process, from /proc (None when not running)."""
        pid = self.pid
        if pid is None:
            return None
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            return None
        return None

    def log_tail(self, lines: int = 20) -> str:
        return self.process.log_tail(lines)


@dataclass
class ReliabilityStack:
    """Everything one run of the suite drives. Build with :func:`running_stack`."""

    root: Path
    kafka: KafkaServer
    kafka_proxy: TcpProxy
    mongo: MongoServer
    mongo_proxy: TcpProxy
    settings: InfraSettings  # what the services use (through the proxies)
    mongo_client: AsyncMongoClient[Document]  # the suite's own, direct (never proxied)
    db: AsyncDatabase[Document]
    sandbox: SandboxClient
    http: httpx.AsyncClient
    api_key: str
    channels: list[Channel]
    ingest_url: str
    inbox_url: str
    services: dict[str, list[Service]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    _envs: dict[str, dict[str, str]] = field(default_factory=dict)
    _ready_paths: dict[str, str] = field(default_factory=dict)

    # -- processes ---------------------------------------------------------------------------

    def all_services(self) -> list[Service]:
        return [s for replicas in self.services.values() for s in replicas]

    def running(self, name: str) -> list[Service]:
        return [s for s in self.services.get(name, []) if s.alive()]

    def add_replica(self, name: str) -> Service:
        """Start one more replica of a consumer service, in the same consumer group."""
        assert name in REPLICATED, f"{name} runs once"
        replicas = self.services.setdefault(name, [])
        replica = len(replicas)
        port = free_port()
        env = dict(self._envs[name])
        prefix = name.upper()
        env[f"{prefix}_PORT"] = str(port)
        if name == "outbound_sender":
            env["OUTBOUND_SENDER_INSTANCE_ID"] = f"sender-{replica}"
        service = Service(name, replica, f"services.{name}", env, port, self._ready_paths[name],
                          self.root / "logs")
        service.start()
        replicas.append(service)
        return service

    async def ready(self, service: Service) -> bool:
        try:
            response = await self.http.get(service.ready_url, timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def wait_ready(self, services: list[Service] | None = None,
                         timeout: float = READY_BOUND_SECONDS) -> dict[str, float | None]:
        """Seconds until each (running) service answered ready; None: not within ``timeout``."""
        targets = [s for s in (services or self.all_services()) if s.alive()]
        started = time.monotonic()
        result: dict[str, float | None] = {}

        async def one(service: Service) -> None:
            while time.monotonic() - started < timeout:
                if not service.alive():
                    break
                if await self.ready(service):
                    result[service.label] = round(time.monotonic() - started, 2)
                    return
                await asyncio.sleep(0.2)
            result[service.label] = None

        await asyncio.gather(*(one(s) for s in targets))
        return result

    async def restart_all(self) -> dict[str, float | None]:
        """Every replica that should run, stopped (SIGTERM) and started again: a clean slate
        after a failed scenario, so the next one is not judged on a wedged service."""
        for service in self.all_services():
            if service.process.proc is not None:
                await asyncio.to_thread(service.terminate, 20.0)
                service.start()
        return await self.wait_ready()

    def rss(self) -> dict[str, tuple[int | None, int | None]]:
        """(pid, RSS in KiB) per running replica."""
        return {s.label: (s.pid, s.rss_kib()) for s in self.all_services() if s.alive()}

    # -- infrastructure -----------------------------------------------------------------------

    async def stop_kafka(self) -> None:
        await asyncio.to_thread(self.kafka.stop)

    async def start_kafka(self) -> None:
        def start() -> None:
            self.kafka.start()
            self.kafka.wait_ready()
        await asyncio.to_thread(start)

    async def stop_mongo(self) -> None:
        await asyncio.to_thread(self.mongo.stop)

    async def start_mongo(self) -> None:
        def start() -> None:
            self.mongo.start()
            self.mongo.wait_ready()
        await asyncio.to_thread(start)

    def dead_services(self) -> list[str]:
        """Replicas that should run but exited by themselves (with the end of their log)."""
        return [f"{s.label} exited:\n{s.log_tail()}" for s in self.all_services()
                if s.process.proc is not None and not s.alive()]

    # -- the agents' API ---------------------------------------------------------------------

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.api_key}", **kwargs.pop("headers", {})}
        return self.http.request(method, f"{self.inbox_url}/api/v1{path}", headers=headers,
                                 **kwargs)


async def seed_templates(db: AsyncDatabase[Document]) -> None:
    """The sandbox's demo templates, approved, in the tenant's catalog (as the sync would)."""
    for template in demo_templates():
        await db[TEMPLATES_COLLECTION].replace_one(
            {"_id": template_doc_id(WABA, template.name, template.language)},
            {"tenant_id": TENANT, "waba_id": WABA, "template_id": template.template_id,
             "name": template.name, "language": template.language, "status": "APPROVED",
             "category": template.category,
             "components": [{"type": "BODY", "text": template.body_text}]},
            upsert=True)


def _service_envs(infra: InfraSettings, ports: dict[str, int], sandbox_url: str,
                  chans: list[Channel], seed: int) -> dict[str, dict[str, str]]:
    prefix = infra.topic_prefix
    common = {
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
        "MONGODB_URI": infra.mongodb_uri,
        "MONGODB_DATABASE": infra.mongodb_database,
        "KAFKA_TOPIC_PREFIX": prefix,
        "KAFKA_TOPIC_PARTITIONS": str(PARTITIONS),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    cloud = f"{sandbox_url}/v25.0"
    return {
        "webhook_ingest": {
            **common,
            "WEBHOOK_INGEST_APP_SECRETS": APP_SECRET,
            "WEBHOOK_INGEST_VERIFY_TOKEN": VERIFY_TOKEN,
            "WEBHOOK_INGEST_PORT": str(ports["webhook_ingest"]),
            "WEBHOOK_INGEST_CHANNELS_REFRESH_SECONDS": "5",
        },
        "conversation_store": {
            **common,
            "CONVERSATION_STORE_GROUP_ID": f"{prefix}store",
            "CONVERSATION_STORE_MAX_BATCH": "500",
        },
        "outbound_sender": {
            **common,
            "OUTBOUND_SENDER_GROUP_ID": f"{prefix}sender",
            "OUTBOUND_SENDER_STORE_GROUP_ID": f"{prefix}store",
            "OUTBOUND_SENDER_CLOUD_API_BASE_URL": cloud,
            "OUTBOUND_SENDER_BACKOFF_BASE_SECONDS": "0.1",
            "OUTBOUND_SENDER_BACKOFF_MAX_SECONDS": "2",
            "OUTBOUND_SENDER_CALL_DEADLINE_SECONDS": "5",
            "OUTBOUND_SENDER_LEASE_MARGIN_SECONDS": "1",
            "OUTBOUND_SENDER_DRAIN_SECONDS": "10",
            # The fault scenarios pace per replica (half of Meta's rate each, as before the shared
            # bucket): they prove the fault paths, and the shared bucket's lease round trips on a
            # loaded FerretDB would add seconds of pacing delay to every scenario. The shared rate
            # has its own test (tests/integration/outbound_sender/test_shared_rate.py).
            "OUTBOUND_SENDER_RATE_SCOPE": "replica",
            "OUTBOUND_SENDER_THROUGHPUT_SHARE": "0.5",
            "OUTBOUND_SENDER_CAMPAIGNS_ENABLED": "false",
            "OUTBOUND_SENDER_CHANNELS_REFRESH_SECONDS": "5",
        },
        "inbox_api": {
            **common,
            "INBOX_API_PORT": str(ports["inbox_api"]),
            "INBOX_API_CLOUD_API_BASE_URL": cloud,
        },
        "sandbox": {
            "SANDBOX_PORT": str(ports["sandbox"]),
            "SANDBOX_WEBHOOK_URL": f"http://127.0.0.1:{ports['webhook_ingest']}/webhook",
            "SANDBOX_APP_SECRET": APP_SECRET,
            "SANDBOX_CHANNELS": json.dumps([c.to_document() for c in chans]),
            "SANDBOX_RANDOM_SEED": str(seed),
            "SANDBOX_SENT_DELAY_SECONDS": "0.05",
            "SANDBOX_DELIVERED_DELAY_SECONDS": "0.15",
            "SANDBOX_READ_DELAY_SECONDS": "0.4",
            # Meta retries a webhook for days; the sandbox keeps at it through any outage here.
            "SANDBOX_WEBHOOK_MAX_ATTEMPTS": "30",
            "SANDBOX_WEBHOOK_RETRY_MAX_SECONDS": "2",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        },
    }


@asynccontextmanager
async def running_stack(*, store_replicas: int = 1, sender_replicas: int = 1, seed: int = 11,
                        root: Path | None = None) -> AsyncIterator[ReliabilityStack]:
    """Kafka and MongoDB behind proxies, the sandbox and every service, ready; all stopped on
    exit (services first)."""
    temporary = root is None
    base = Path(tempfile.mkdtemp(prefix="reliability-")) if root is None else root
    name = f"rel{uuid.uuid4().hex[:8]}"
    kafka_advertised = free_port()
    kafka = KafkaServer(base / "kafka", partitions=PARTITIONS, advertised_port=kafka_advertised)
    kafka_proxy = TcpProxy("127.0.0.1", kafka.proxied_listen_port, listen_port=kafka_advertised)
    mongo = MongoServer(base / "mongo")
    mongo_proxy = TcpProxy("127.0.0.1", mongo.port)
    started: list[Service] = []
    mongo_client: AsyncMongoClient[Document] | None = None
    http = httpx.AsyncClient(timeout=30.0)
    try:
        await asyncio.to_thread(ensure_kafka_jars)
        await asyncio.to_thread(mongo.prepare)
        kafka_proxy.start()
        mongo_proxy.start()
        kafka.start()
        mongo.start()
        await asyncio.gather(asyncio.to_thread(kafka.wait_ready),
                             asyncio.to_thread(mongo.wait_ready))
        infra = InfraSettings(kafka_bootstrap_servers=kafka.proxied_bootstrap_servers,
                              mongodb_uri=f"mongodb://127.0.0.1:{mongo_proxy.port}/",
                              mongodb_database=name, topic_prefix=f"{name}.",
                              topic_partitions=PARTITIONS)
        await ensure_topics(infra, [*ALL_TOPICS, *DLQ_TOPICS], partitions=PARTITIONS)
        mongo_client = AsyncMongoClient(mongo.uri, tz_aware=True, serverSelectionTimeoutMS=10000)
        db = mongo_client[name]
        chans = channels()
        api_key = ""
        for channel in chans:
            key = await create_tenant(db, tenant=TENANT, phone_number_id=channel.phone_number_id,
                                      waba_id=channel.waba_id,
                                      display_number=channel.display_phone_number,
                                      access_token=channel.access_token.get_secret_value(),
                                      agent="rel-agent", name="Reliability Agent")
            api_key = api_key or key
        await seed_templates(db)
        ports = {n: free_port() for n in ("webhook_ingest", "inbox_api", "sandbox")}
        sandbox_url = f"http://127.0.0.1:{ports['sandbox']}"
        envs = _service_envs(infra, ports, sandbox_url, chans, seed)
        stack = ReliabilityStack(
            root=base, kafka=kafka, kafka_proxy=kafka_proxy, mongo=mongo,
            mongo_proxy=mongo_proxy, settings=infra, mongo_client=mongo_client, db=db,
            sandbox=SandboxClient(sandbox_url, http), http=http, api_key=api_key,
            channels=chans, ingest_url=f"http://127.0.0.1:{ports['webhook_ingest']}/webhook",
            inbox_url=f"http://127.0.0.1:{ports['inbox_api']}", _envs=envs,
            _ready_paths={"webhook_ingest": "/readyz", "conversation_store": "/readyz",
                          "outbound_sender": "/readyz", "inbox_api": "/readyz",
                          "sandbox": "/healthz"})
        logs = base / "logs"
        for service_name, port_key, module in (
                ("sandbox", "sandbox", "sandbox"),
                ("webhook_ingest", "webhook_ingest", "services.webhook_ingest"),
                ("inbox_api", "inbox_api", "services.inbox_api")):
            service = Service(service_name, 0, module, envs[service_name], ports[port_key],
                              stack._ready_paths[service_name], logs)
            service.start()
            started.append(service)
            stack.services[service_name] = [service]
        # The first replica of each consumer creates the indexes alone: two creating them at
        # once on a fresh FerretDB database crashed one (FerretDB panics, the replica exits).
        for wave in ((1, 1), (store_replicas - 1, sender_replicas - 1)):
            for name, count in zip(REPLICATED, wave, strict=True):
                for _ in range(count):
                    started.append(stack.add_replica(name))
            waited = await stack.wait_ready(timeout=120.0)
            missing = [label for label, seconds in waited.items() if seconds is None]
            if missing or len(waited) < len(started):
                tails = "\n".join(f"--- {s.label}\n{s.log_tail()}" for s in started
                                  if s.label in missing or not s.alive())
                raise RuntimeError(f"not ready at start-up: {missing or 'exited'}\n{tails}")
        try:
            # Through a long outage the sandbox keeps retrying webhooks, as Meta does for days.
            await stack.sandbox.configure(webhook_retry_seconds=900)
        except SandboxControlError as exc:
            stack.notes.append(f"sandbox has no webhook_retry_seconds yet ({exc}); it gives up "
                               "after ~30 attempts capped at 2 s")
        yield stack
    finally:
        for service in reversed(started):
            with contextlib.suppress(Exception):
                service.terminate(timeout=15)
        for services in (stack.services.values() if "stack" in locals() else []):
            for service in services:
                with contextlib.suppress(Exception):
                    service.terminate(timeout=15)
        await http.aclose()
        if mongo_client is not None:
            await mongo_client.close()
        for stop in (kafka.stop, mongo.stop, kafka_proxy.stop, mongo_proxy.stop):
            with contextlib.suppress(Exception):
                await asyncio.to_thread(stop)
        if temporary and not os.environ.get("RELIABILITY_KEEP"):
            shutil.rmtree(base, ignore_errors=True)
