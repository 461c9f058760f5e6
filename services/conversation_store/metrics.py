"""conversation_store's Prometheus metrics (batch size, lag and retries come from BatchConsumer)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

EVENTS_FOLDED = Counter(
    "inbox_store_events_folded_total", "Events folded into conversations, by event type", ["type"]
)
CONVERSATIONS_CHANGED = Counter(
    "inbox_store_conversations_changed_total",
    "Conversation writes (one per batch and conversation)",
)
FOLD_SECONDS = Histogram(
    "inbox_store_fold_seconds", "Time to fold one group of a batch (pure, no I/O)",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
WRITE_SECONDS = Histogram(
    "inbox_store_write_seconds", "Time to write one group's documents (conversations, messages)"
)
END_TO_END_SECONDS = Histogram(
    "inbox_store_end_to_end_seconds", "From an event's occurred_at to its committed fold",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)
CONFLICTS = Counter(
    "inbox_store_write_conflicts_total", "Batches reloaded because the database held unseen data"
)
CACHE_LOOKUPS = Counter(
    "inbox_store_cache_lookups_total",
    "Conversations a batch needed, by whether the thread cache answered alone (hit) or the "
    "database was read (miss)",
    ["result"],
)
FORWARDED = Counter(
    "inbox_store_forwarded_total",
    "Events handed to another conversation: a merged conversation's hand-over parts and the "
    "events that reached it after the merge",
)
