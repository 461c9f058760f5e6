"""The media archiver's Prometheus metrics (consumer lag and batches come from BatchConsumer,
group ``conversation-store-media``)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

ARCHIVED = Counter(
    "inbox_media_archived_total", "Media stored in the archive, by WhatsApp kind", ["media_type"]
)
ARCHIVED_BYTES = Counter(
    "inbox_media_archived_bytes_total", "Bytes stored in the archive, by WhatsApp kind",
    ["media_type"],
)
# reason: too_large, disallowed_type (refused by policy); gone, refused, unavailable, no_channel,
# error (the download failed).
NOT_ARCHIVED = Counter(
    "inbox_media_not_archived_total", "Media refused or failed, by reason", ["reason"]
)
DOWNLOAD_RETRIES = Counter(
    "inbox_media_download_retries_total", "Downloads tried again after a transient failure"
)
ARCHIVE_SECONDS = Histogram(
    "inbox_media_archive_seconds", "From a media's first try to its outcome (retries included)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0),
)
