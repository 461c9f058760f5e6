"""Start-up checks that turn "cannot reach X" into one clear line instead of a stack trace."""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from shared.config import InfraSettings
from shared.ops import InfraUnavailable


async def check_kafka(settings: InfraSettings, timeout: float = 10.0) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers, request_timeout_ms=int(timeout * 1000)
    )
    # aiokafka logs each failed connection attempt; the one line below says it all.
    client_log = logging.getLogger("aiokafka")
    level = client_log.level
    client_log.setLevel(logging.CRITICAL)
    try:
        await asyncio.wait_for(producer.start(), timeout)
    except Exception as exc:
        reason = str(exc) or type(exc).__name__
        raise InfraUnavailable(
            f"Kafka at {settings.kafka_bootstrap_servers} is unreachable "
            f"(KAFKA_BOOTSTRAP_SERVERS): {reason}"
        ) from None
    finally:
        await producer.stop()
        client_log.setLevel(level)


async def check_mongo(settings: InfraSettings, timeout: float = 10.0) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        settings.mongodb_uri, serverSelectionTimeoutMS=int(timeout * 1000)
    )
    try:
        await client.admin.command("ping")
    except Exception as exc:
        raise InfraUnavailable(
            f"MongoDB at {settings.mongodb_uri} is unreachable (MONGODB_URI): "
            f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        ) from None
    finally:
        await client.close()


async def check_infra(settings: InfraSettings, timeout: float = 10.0) -> None:
    await asyncio.gather(check_kafka(settings, timeout), check_mongo(settings, timeout))


def main() -> None:
    """``python -m shared.infra``: do the configured Kafka and MongoDB answer? One line says."""
    from shared.config import load_settings
    from shared.ops import run_main

    async def check() -> None:
        settings = load_settings(InfraSettings)
        await check_infra(settings)
        print(f"ok: Kafka at {settings.kafka_bootstrap_servers}, MongoDB at {settings.mongodb_uri}")

    run_main(check)


if __name__ == "__main__":
    main()
