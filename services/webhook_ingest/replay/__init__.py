"""Re-derive the normalized events from the raw webhooks kept on ``whatsapp.webhooks.raw.v1``.

Use it after a parser fix (or to rebuild a lost downstream)::

    python -m services.webhook_ingest.replay --from 2025-06-16T00:00:00Z [--until ...]
    python -m services.webhook_ingest.replay --from earliest --dry-run
    python -m services.webhook_ingest.replay --from 1200      # this offset on every partition

It reads the raw topic from the given point up to its end *as of the start* (so it terminates),
normalizes every body with the current parser and channel directory, and publishes the events to
``whatsapp.inbound.v1`` (acks=all). Event ids are deterministic: an unchanged event keeps its id
and consumers drop it as a duplicate. ``--id-salt`` gives every re-derived event a new (still
deterministic) id, for consumers that must apply corrected versions of events they already saw.
It prints a JSON report. No consumer group is used and no offset is committed.
"""

from __future__ import annotations

import argparse
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.webhook_ingest.conversations import resolve_conversations
from services.webhook_ingest.errors import InvalidPayload
from services.webhook_ingest.normalize import TenantLookup, normalize
from services.webhook_ingest.payload import parse_webhook
from services.webhook_ingest.ports import ContactResolver
from shared.config import InfraSettings
from shared.events.topics import WHATSAPP_INBOUND, WHATSAPP_WEBHOOKS_RAW
from shared.kafka import publish
from shared.producer import RecoveringProducer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StartAt:
    """Where replay begins on each partition: the beginning, an offset, or a time."""

    offset: int | None = None
    time: datetime | None = None

    @classmethod
    def parse(cls, text: str) -> StartAt:
        text = text.strip()
        if text in ("earliest", "beginning"):
            return cls()
        if text.isdigit():
            return cls(offset=int(text))
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"--from {text!r} is not 'earliest', an offset, or an ISO 8601 time"
            ) from None
        if moment.tzinfo is None:
            raise ValueError(f"--from {text!r} needs a time zone (e.g. Z or +00:00)")
        return cls(time=moment.astimezone(UTC))


@dataclass
class ReplayReport:
    """What a replay read and re-published."""

    records: int = 0
    events: Counter[str] = field(default_factory=Counter)
    skipped: int = 0  # raw records that are not WhatsApp payloads (should never happen)
    parse_failures: int = 0
    unassigned: set[str] = field(default_factory=set)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "events": dict(self.events),
            "events_total": sum(self.events.values()),
            "skipped": self.skipped,
            "parse_failures": self.parse_failures,
            "unassigned": sorted(self.unassigned),
            "dry_run": self.dry_run,
        }


async def replay(
    settings: InfraSettings,
    tenants: TenantLookup,
    producer: RecoveringProducer | None,
    start: StartAt,
    *,
    until: datetime | None = None,
    salt: str = "",
    poll_records: int = 500,
    contacts: ContactResolver | None = None,
) -> ReplayReport:
    """Re-publish the events of every raw webhook from ``start`` (to ``until``, or the end).

    With ``producer=None`` nothing is published (a dry run that only counts).
    """
    report = ReplayReport(dry_run=producer is None)
    inbound = settings.topic(WHATSAPP_INBOUND)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_auto_commit=False,
        max_poll_records=poll_records,
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        remaining = await _position(consumer, settings.topic(WHATSAPP_WEBHOOKS_RAW), start)
        while remaining:
            polled = await consumer.getmany(*remaining, timeout_ms=1000, max_records=poll_records)
            events = []
            for tp, records in polled.items():
                end = remaining.get(tp)
                for record in records:
                    if end is None or record.offset >= end or _after(record.timestamp, until):
                        remaining.pop(tp, None)
                        break
                    events.extend(_events_of(record, tenants, salt, report))
                    if record.offset + 1 >= end:
                        remaining.pop(tp, None)
            for tp in list(remaining):
                if await consumer.position(tp) >= remaining[tp]:
                    remaining.pop(tp)
            if contacts is not None and events:  # the same conversation ids as live ingest
                events = await resolve_conversations(events, contacts)
            if producer is not None and events:
                await publish(producer, inbound, events)
            for event in events:
                report.events[event.type] += 1
    finally:
        await consumer.stop()
    return report


async def _position(
    consumer: AIOKafkaConsumer, topic: str, start: StartAt
) -> dict[TopicPartition, int]:
    """Assign and seek every partition; return the end offsets of those with records to read."""
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        await consumer._client.force_metadata_update()
        partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        raise ValueError(f"topic {topic} does not exist")
    tps = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(tps)
    ends: dict[TopicPartition, int] = await consumer.end_offsets(tps)
    begins: dict[TopicPartition, int] = await consumer.beginning_offsets(tps)
    if start.time is not None:
        found = await consumer.offsets_for_times(
            {tp: int(start.time.timestamp() * 1000) for tp in tps}
        )
        targets = {tp: (found[tp].offset if found.get(tp) else ends[tp]) for tp in tps}
    elif start.offset is not None:
        targets = {tp: min(max(start.offset, begins[tp]), ends[tp]) for tp in tps}
    else:
        targets = dict(begins)
    for tp, offset in targets.items():
        consumer.seek(tp, offset)
    return {tp: ends[tp] for tp in tps if targets[tp] < ends[tp]}


def _after(timestamp_ms: int, until: datetime | None) -> bool:
    return until is not None and timestamp_ms > until.timestamp() * 1000


def _events_of(record: Any, tenants: TenantLookup, salt: str, report: ReplayReport) -> list[Any]:
    report.records += 1
    try:
        payload = parse_webhook(record.value)
    except InvalidPayload as exc:
        report.skipped += 1
        log.warning("raw record is not a WhatsApp payload; skipped",
                    extra={"partition": record.partition, "offset": record.offset,
                           "error": exc.detail})
        return []
    normalized = normalize(payload, tenants, _received_at(record), salt=salt)
    report.parse_failures += len(normalized.failures)
    report.unassigned.update(f"{kind}:{ident}" for kind, ident in normalized.unassigned)
    return list(normalized.events)


def _received_at(record: Any) -> datetime:
    for key, value in record.headers or ():
        if key == "received-at":
            try:
                moment = datetime.fromisoformat(value.decode())
            except ValueError:
                break
            if moment.tzinfo is not None:
                return moment
    return datetime.fromtimestamp(record.timestamp / 1000, UTC)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m services.webhook_ingest.replay",
        description="Re-publish normalized events from the raw webhooks topic.",
    )
    parser.add_argument("--from", dest="start", required=True, type=StartAt.parse,
                        help="'earliest', an offset (applied to every partition), or an "
                             "ISO 8601 time with a zone")
    parser.add_argument("--until", type=_aware_time, default=None,
                        help="stop at raw records received after this ISO 8601 time")
    parser.add_argument("--id-salt", default="",
                        help="derive new deterministic event ids (for corrected events)")
    parser.add_argument("--dry-run", action="store_true", help="count, publish nothing")
    return parser


def _aware_time(text: str) -> datetime:
    start = StartAt.parse(text)
    if start.time is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time with a zone")
    return start.time
