"""``./dev run``: the whole inbox on this machine: infrastructure first, then every service.

Services are added here as they land. Ctrl-C stops everything, services first, then the stack.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

from devstack.paths import CACHE_DIR, SetupError
from devstack.process import ManagedProcess
from devstack.stack import local_stack

# Local-only secrets shared by the services and the WhatsApp sandbox (never used in production).
APP_SECRET = "sandbox-app-secret"
VERIFY_TOKEN = "sandbox-verify-token"
WEBHOOK_PORT = 8080

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
    ("sandbox", "sandbox", {"SANDBOX_PORT": "8090"}),
]


def seed_demo(mongodb_uri: str, database: str = "inbox") -> None:
    """The sandbox's demo business number and approved templates, so the local inbox can send."""
    from pymongo import MongoClient

    from sandbox.catalog import demo_channel, demo_templates
    from shared.channels import CHANNELS_COLLECTION
    from shared.templates import TEMPLATES_COLLECTION, template_doc_id

    channel = demo_channel()
    client: MongoClient[dict[str, object]] = MongoClient(mongodb_uri, tz_aware=True)
    try:
        db = client[database]
        db[CHANNELS_COLLECTION].replace_one(
            {"_id": channel.phone_number_id}, channel.to_document(), upsert=True
        )
        for template in demo_templates():
            doc_id = template_doc_id(channel.waba_id, template.name, template.language)
            db[TEMPLATES_COLLECTION].update_one(
                {"_id": doc_id},
                {
                    "$set": {"status": "APPROVED", "category": template.category},
                    "$setOnInsert": {
                        "tenant_id": channel.tenant_id,
                        "waba_id": channel.waba_id,
                        "template_id": doc_id,
                        "name": template.name,
                        "language": template.language,
                        "components": [{"type": "BODY", "text": template.body_text}],
                    },
                },
                upsert=True,
            )
    finally:
        client.close()


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
            seed_demo(stack.mongodb_uri)
            env = {**os.environ, **stack.env()}
            running: list[ManagedProcess] = []
            for name, module, extra in SERVICES:
                process = ManagedProcess(name, [sys.executable, "-m", module], logs / f"{name}.log",
                                         env={**env, **extra}, cwd=Path.cwd())
                process.start()
                running.append(process)
            print(f"inbox: infrastructure ready (Kafka {stack.kafka_bootstrap_servers}, "
                  f"MongoDB {stack.mongodb_uri}); services: "
                  f"{', '.join(n for n, _, _ in SERVICES) or 'none yet'}; logs in {logs}",
                  flush=True)
            print("inbox: Ctrl-C stops everything", flush=True)
            stop.wait()
            print("inbox: stopping", flush=True)
            for process in reversed(running):
                process.stop()
        return 0
    except SetupError as exc:
        print(f"inbox: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
