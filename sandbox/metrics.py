"""Prometheus metrics of the sandbox (served on ``/metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

REQUESTS = Counter(
    "sandbox_send_requests_total",
    "Send requests by outcome: accepted, read (mark-as-read), or the Meta error code returned",
    ["outcome"],
)
ACCEPTED = REQUESTS.labels("accepted")
STATUSES = Counter(
    "sandbox_status_webhooks_total", "Status webhook items scheduled, by status", ["status"]
)
WEBHOOK_POSTS = Counter(
    "sandbox_webhook_posts_total", "Webhook POSTs by outcome (ok, failed, given_up)", ["outcome"]
)
DROPPED = Counter(
    "sandbox_webhook_items_dropped_total",
    "Webhook items not posted: queue full, no webhook URL, or retries exhausted",
    ["reason"],
)
PENDING = Gauge("sandbox_webhook_pending", "Webhook items and retries waiting to be posted")
CUSTOMER_MESSAGES = Counter(
    "sandbox_customer_messages_total", "Simulated customer messages, by type", ["type"]
)
