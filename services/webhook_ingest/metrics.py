"""Prometheus metrics of webhook_ingest (served on ``/metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "webhook_ingest_requests_total",
    "Webhook requests by outcome (accepted, already_durable, bad_signature, too_large, "
    "unsupported_media_type, invalid_payload, not_durable, handshake_ok, handshake_refused)",
    ["outcome"],
)
# The hot path's child, bound once (``labels()`` costs a lock and a lookup per call).
ACCEPTED = REQUESTS.labels("accepted")
EVENTS = Counter(
    "webhook_ingest_events_total", "Events published to whatsapp.inbound.v1, by type", ["type"]
)
PUBLISH_SECONDS = Histogram(
    "webhook_ingest_publish_seconds",
    "Time for Kafka to acknowledge every record of a webhook (raw body and events)",
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
UNASSIGNED = Counter(
    "webhook_ingest_unassigned_events_total",
    "Events published with the unassigned tenant (a business number or WABA with no channel)",
    ["type"],
)
PARSE_FAILURES = Counter(
    "webhook_ingest_parse_failures_total",
    "Webhook changes kept whole as webhook.unhandled because parsing raised (a parser bug)",
    ["field"],
)
CHANNELS = Gauge("webhook_ingest_channels", "Business numbers in the channel directory")
PENDING = Gauge(
    "webhook_ingest_pending_publishes",
    "Timed-out publishes remembered so that Meta's retry reuses them",
)
ANONYMOUS = Counter(
    "webhook_ingest_anonymous_items_total",
    "Messages and statuses naming the customer by neither a number nor a BSUID (kept as "
    "webhook.unhandled and on the raw topic)",
)
MALFORMED_ITEMS = Counter(
    "webhook_ingest_malformed_items_total",
    "Items (a message, an echo, a call, a preference, ...) that could not be read and were kept "
    "alone as webhook.unhandled while their siblings were parsed, by webhook field",
    ["field"],
)
ALIAS_CONFLICTS = Counter(
    "webhook_ingest_contact_alias_conflicts_total",
    "A number and a BSUID found in two conversations (the BSUID's is merged into the number's), "
    "or a new identifier of an identity change kept by another conversation",
)
CONTACTS_CACHED = Gauge(
    "webhook_ingest_contact_aliases_cached", "Contact aliases in the in-process cache"
)
