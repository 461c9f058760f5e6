"""``python -m services.webhook_ingest.replay``: the replay command's composition root."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from services.webhook_ingest.adapters.contact_aliases import contact_directory
from services.webhook_ingest.replay import build_parser, replay
from shared.channels import CHANNELS_COLLECTION, ChannelDirectory
from shared.config import InfraSettings, load_settings
from shared.kafka import make_producer
from shared.logging import configure_logging
from shared.mongo import database, make_client
from shared.ops import run_main


async def cli(argv: Sequence[str]) -> None:
    args = build_parser().parse_args(argv)
    settings = load_settings(InfraSettings)
    configure_logging("webhook_ingest.replay", "WARNING")
    mongo = make_client(settings, app_name="webhook_ingest.replay")
    try:
        directory = ChannelDirectory()
        await directory.load(database(mongo, settings)[CHANNELS_COLLECTION])
        # Replayed events resolve their conversations as live ingest does (BSUID-only customers,
        # changed numbers), and in dry runs too, so the counts are what a real run publishes.
        contacts = contact_directory(database(mongo, settings))
        producer = None if args.dry_run else make_producer(settings)
        if producer is not None:
            await producer.start()
        try:
            report = await replay(settings, directory, producer, args.start, until=args.until,
                                  salt=args.id_salt, contacts=contacts)
        finally:
            if producer is not None:
                await producer.stop()
    finally:
        await mongo.close()
    print(json.dumps(report.as_dict()))


if __name__ == "__main__":
    run_main(lambda: cli(sys.argv[1:]))
