"""Prometheus metrics of outbound_sender (served on the ops port at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

SENT = Counter("outbound_sender_sent_total", "Sends the Cloud API accepted, by kind", ["kind"])
REFUSED = Counter(
    "outbound_sender_refused_total", "Sends refused by the window policy, by reason", ["reason"]
)
FAILED = Counter(
    "outbound_sender_failed_total", "Sends that ended failed, by Cloud API error code", ["code"]
)
UNKNOWN = Counter(
    "outbound_sender_unknown_total", "Sends whose outcome is unknown (reported, never resent)"
)
RETRIES = Counter(
    "outbound_sender_retries_total", "Attempts that will be retried, by error code", ["code"]
)
ALERTS = Counter(
    "outbound_sender_alerts_total",
    "Cloud API errors operators must act on (token, account, policy, request bugs), by code",
    ["code"],
)
REPLAYED = Counter(
    "outbound_sender_replayed_total",
    "Commands found already decided in the ledger (redelivery, restart, other replica): "
    "their outcome is re-published, nothing is sent",
)
MARK_READ = Counter(
    "outbound_sender_mark_read_total",
    "Read receipts, by outcome (sent, unknown, failed; duplicate: that message's receipt was "
    "already claimed; skipped: nothing to mark, receipts off, or not the tenant's number)",
    ["outcome"],
)
TYPING = Counter(
    "outbound_sender_typing_total",
    "Typing indicators, by outcome (sent, unknown, failed; stale: asked too long ago; "
    "throttled: one was sent for the conversation under 10 s before; skipped)",
    ["outcome"],
)
WINDOW_RECHECKS = Counter(
    "outbound_sender_window_rechecks_total",
    "Free-form sends re-decided after waiting for conversation_store to catch up, by result",
    ["result"],
)
BUCKET_WAIT = Histogram(
    "outbound_sender_bucket_wait_seconds",
    "Time a send waited for its number's token bucket, by priority",
    ["priority"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120),
)
CLOUD_API_SECONDS = Histogram(
    "outbound_sender_cloud_api_seconds",
    "Cloud API call latency, by answer",
    ["answer"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
COMMAND_TO_ACCEPTED = Histogram(
    "outbound_sender_command_to_accepted_seconds",
    "From the command's time to the Cloud API's acceptance",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
BUFFERED = Gauge(
    "outbound_sender_buffered_commands", "Commands read from Kafka and not finished yet"
)
DEPENDENCY_ERRORS = Counter(
    "outbound_sender_dependency_errors_total",
    "Transient database or broker errors while handling a command (retried)",
)
