"""conversation_store's settings (environment prefix ``CONVERSATION_STORE_``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, HttpUrl, field_validator
from pydantic_settings import SettingsConfigDict

from services.conversation_store.media.rules import DEFAULT_ALLOWED_TYPES, DEFAULT_MAX_BYTES
from shared.config import ServiceSettings

SANDBOX_BASE_URL = "http://127.0.0.1:8090/v25.0"


class ConversationStoreSettings(ServiceSettings):
    """Infrastructure (shared names) plus the consumer's own knobs."""

    model_config = SettingsConfigDict(
        env_prefix="CONVERSATION_STORE_", extra="ignore", populate_by_name=True
    )

    # The ops side port (/healthz, /readyz, /metrics); 0 picks a free one.
    port: int = Field(default=8082, ge=0, le=65535)
    group_id: str = "conversation-store"
    # Records per poll. Big batches matter when catching up a backlog: a conversation's events
    # folded in one batch are one write instead of several (docs/conversation_store.md).
    max_batch: int = Field(default=5000, ge=1, le=20000)
    poll_timeout_ms: int = Field(default=200, ge=10, le=10000)
    # Reload-and-refold attempts after a write conflict before the batch fails.
    fold_attempts: int = Field(default=3, ge=1, le=20)
    # Messages kept in the in-process thread cache (0 turns it off); ~1-2 kB each.
    cache_messages: int = Field(default=100_000, ge=0)
    # Operations per bulk_write command. Keep it under 100 against an unpatched FerretDB v1,
    # which hangs on bigger update commands (docs/infrastructure.md).
    write_chunk: int = Field(default=1000, ge=1, le=100_000)

    # -- the media archiver (media/, docs/media.md): its own consumer group and ops port --------
    media_archive_enabled: bool = True
    media_group_id: str = "conversation-store-media"
    media_port: int = Field(default=8084, ge=0, le=65535)
    media_max_batch: int = Field(default=200, ge=1, le=5000)
    # Where media is downloaded from (the local WhatsApp sandbox by default).
    cloud_api_base_url: HttpUrl = HttpUrl(SANDBOX_BASE_URL)
    # Downloads at once (per member), tries per download, and the backoff between tries.
    media_concurrency: int = Field(default=4, ge=1, le=64)
    media_attempts: int = Field(default=4, ge=1, le=20)
    media_backoff_base_seconds: float = Field(default=1.0, gt=0, le=60)
    media_backoff_max_seconds: float = Field(default=30.0, gt=0, le=600)
    # A download that sends no byte for this long is a failed try.
    media_read_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    # The largest file kept, by WhatsApp kind (a JSON object; kinds left out keep Meta's limit),
    # and the MIME types kept (a JSON list; ``type/*`` and ``*/*`` allowed).
    media_max_bytes: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_MAX_BYTES))
    media_allowed_types: list[str] = Field(default_factory=lambda: list(DEFAULT_ALLOWED_TYPES))
    # Where the bytes go. Only GridFS (in MONGODB_URI's database) today; an S3-compatible store
    # is the documented next step (docs/media.md).
    media_storage: Literal["gridfs"] = "gridfs"
    channels_refresh_seconds: float = Field(default=30.0, gt=0)

    @field_validator("media_max_bytes")
    @classmethod
    def _merge_limits(cls, value: dict[str, int]) -> dict[str, int]:
        if any(limit < 1 for limit in value.values()):
            raise ValueError("every media limit must be at least 1 byte")
        return {**DEFAULT_MAX_BYTES, **value}
