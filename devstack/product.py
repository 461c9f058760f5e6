"""``./dev run``: the whole inbox on this machine: infrastructure first, then every service, the
WhatsApp sandbox, and a demo tenant with a few customers who have written in.

It prints the inbox's address with a one-click sign-in link. Ctrl-C stops everything, services
first, then the stack.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from devstack.demo import DEMO_EMAIL, customers_write_in, seed, sign_in_url
from devstack.paths import CACHE_DIR, SetupError
from devstack.process import ManagedProcess
from devstack.stack import local_stack

# Local-only secrets shared by the services and the WhatsApp sandbox (never used in production).
APP_SECRET = "sandbox-app-secret"
VERIFY_TOKEN = "sandbox-verify-token"
WEBHOOK_PORT = 8080
INBOX_PORT = 8081
SANDBOX_PORT = 8090
READY_TIMEOUT_SECONDS = 90.0

# (name, module, extra environment); each runs as ``python -m <module>``.
SERVICES: list[tuple[str, str, dict[str, str]]] = [
    (
        "webhook_ingest",
        "services.webhook_ingest",
        {
            "WEBHOOK_INGEST_APP_SECRETS": APP_SECRET,
            "WEBHOOK_INGEST_VERIFY_TOKEN": VERIFY_TOKEN,
            "WEBHOOK_INGEST_PORT": str(WEBHOOK_PORT),
        },
    ),
    ("conversation_store", "services.conversation_store", {"CONVERSATION_STORE_PORT": "8082"}),
    ("outbound_sender", "services.outbound_sender", {"OUTBOUND_SENDER_PORT": "8083"}),
    # Stands in for Meta's Cloud API and plays the customer: http://127.0.0.1:8090/_sandbox/
    ("sandbox", "sandbox", {"SANDBOX_PORT": str(SANDBOX_PORT)}),
    # The agents' API and web inbox: http://127.0.0.1:8081/
    # Locally the API docs are on (production leaves them off); /metrics on the ops port.
    ("inbox_api", "services.inbox_api", {"INBOX_API_PORT": str(INBOX_PORT),
                                         "INBOX_API_OPS_PORT": "8085",
                                         "INBOX_API_API_DOCS": "true"}),
]
# Where each service answers /readyz (the consumers on their ops ports).
READY_URLS = {
    "webhook_ingest": f"http://127.0.0.1:{WEBHOOK_PORT}/readyz",
    "conversation_store": "http://127.0.0.1:8082/readyz",
    "outbound_sender": "http://127.0.0.1:8083/readyz",
    "sandbox": f"http://127.0.0.1:{SANDBOX_PORT}/healthz",
    "inbox_api": f"http://127.0.0.1:{INBOX_PORT}/readyz",
}


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def wait_ready(running: list[ManagedProcess], stop: threading.Event) -> str | None:
    """Wait until every service answers ready; the name of one that died or never did."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    pending = {p.name: p for p in running}
    while pending and not stop.is_set():
        for name, process in list(pending.items()):
            if not process.alive():
                return name
            if _ready(READY_URLS[name]):
                del pending[name]
        if time.monotonic() > deadline:
            return next(iter(pending))
        stop.wait(0.3)
    return None


def main() -> int:
    data_dir = CACHE_DIR / "data"
    logs = CACHE_DIR / "logs"
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        with local_stack(data_dir, kafka_port=9092, mongo_port=27017) as stack:
            from devstack.__main__ import _create_topics

            _create_topics(stack.kafka_bootstrap_servers, 6)
            demo = asyncio.run(seed(stack.mongodb_uri, "inbox", CACHE_DIR / "demo-agent-key"))
            key = demo.key
            env = {**os.environ, **stack.env()}
            running: list[ManagedProcess] = []
            for name, module, extra in SERVICES:
                process = ManagedProcess(name, [sys.executable, "-m", module], logs / f"{name}.log",
                                         env={**env, **extra}, cwd=Path.cwd())
                process.start()
                running.append(process)
            print(f"inbox: infrastructure ready (Kafka {stack.kafka_bootstrap_servers}, "
                  f"MongoDB {stack.mongodb_uri}); starting "
                  f"{', '.join(n for n, _, _ in SERVICES)}; logs in {logs}", flush=True)
            failed = wait_ready(running, stop)
            if failed is not None:
                process = next(p for p in running if p.name == failed)
                print(f"inbox: error: {failed} did not become ready; the end of its log "
                      f"({process.log_file}):\n{process.log_tail()}", file=sys.stderr)
                stop.set()
            elif not stop.is_set():
                if not demo.has_conversations:
                    asyncio.run(customers_write_in(f"http://127.0.0.1:{SANDBOX_PORT}"))
                link = asyncio.run(sign_in_url(stack.mongodb_uri, "inbox", key,
                                               f"http://127.0.0.1:{INBOX_PORT}"))
                print(f"""
inbox: ready.
  web inbox      {link}
                 (one click signs you in: the link works once, for 10 minutes)
                 (or sign in at http://127.0.0.1:{INBOX_PORT}/ as {DEMO_EMAIL} with the
                 password {demo.password or "set by an earlier run"}: an admin, who invites
                 colleagues on the Team page; "Use an API key instead" takes {key})
  play customer  http://127.0.0.1:{SANDBOX_PORT}/_sandbox/
  API docs       http://127.0.0.1:{INBOX_PORT}/api/docs
inbox: Ctrl-C stops everything""", flush=True)
            stop.wait()
            print("inbox: stopping", flush=True)
            for process in reversed(running):
                process.stop()
        return 1 if failed is not None else 0
    except SetupError as exc:
        print(f"inbox: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
