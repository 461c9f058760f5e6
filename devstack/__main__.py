"""``python -m devstack setup`` installs what the local stack needs; ``up`` runs it until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import threading
from pathlib import Path

from devstack.paths import CACHE_DIR, SetupError
from devstack.stack import local_stack, prepare


def _create_topics(bootstrap: str, partitions: int) -> None:
    from shared.config import InfraSettings
    from shared.events.topics import ALL_TOPICS, DLQ_TOPICS
    from shared.kafka import ensure_topics

    settings = InfraSettings(kafka_bootstrap_servers=bootstrap)
    asyncio.run(ensure_topics(settings, [*ALL_TOPICS, *DLQ_TOPICS], partitions=partitions))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("setup", help="fetch Kafka jars and build FerretDB (cached)")
    up = sub.add_parser("up", help="run Kafka and MongoDB on loopback until Ctrl-C")
    up.add_argument("--kafka-port", type=int, default=9092)
    up.add_argument("--mongo-port", type=int, default=27017)
    up.add_argument("--data-dir", type=Path, default=CACHE_DIR / "data")
    up.add_argument("--partitions", type=int, default=6)
    up.add_argument(
        "--state-file", type=Path, default=None, help="write the endpoints here as JSON once ready"
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "setup":
            prepare()
            print("devstack: Kafka jars and MongoDB-wire server ready")
            return 0
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        with local_stack(args.data_dir, args.kafka_port, args.mongo_port) as stack:
            _create_topics(stack.kafka_bootstrap_servers, args.partitions)
            endpoints = stack.env()
            if args.state_file:
                args.state_file.write_text(json.dumps({**endpoints, "pid": os.getpid()}))
            print(
                f"devstack: ready  KAFKA_BOOTSTRAP_SERVERS={endpoints['KAFKA_BOOTSTRAP_SERVERS']}"
                f"  MONGODB_URI={endpoints['MONGODB_URI']}  (Ctrl-C stops)",
                flush=True,
            )
            stop.wait()
            print("devstack: stopping", flush=True)
        return 0
    except SetupError as exc:
        print(f"devstack: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
