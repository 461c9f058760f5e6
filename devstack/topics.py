"""``python -m devstack.topics``: create every versioned topic and its dead-letter topic, then exit.

docker-compose's ``topics`` job runs it from the image once Kafka answers, so the services start
with their topics in place. The addresses come from the environment (``KAFKA_BOOTSTRAP_SERVERS``,
``KAFKA_TOPIC_PARTITIONS``, ``KAFKA_TOPIC_PREFIX``). Services create what is missing themselves
too; webhook_ingest (re)applies the raw topic's retention and size limit at every start.
"""

from __future__ import annotations

import asyncio

from shared.config import InfraSettings, load_settings
from shared.events.topics import ALL_TOPICS, DLQ_TOPICS
from shared.kafka import ensure_topics


def main() -> None:
    settings = load_settings(InfraSettings)
    asyncio.run(ensure_topics(settings, [*ALL_TOPICS, *DLQ_TOPICS]))
    print(f"topics: {len(ALL_TOPICS) + len(DLQ_TOPICS)} in place", flush=True)


if __name__ == "__main__":
    main()
