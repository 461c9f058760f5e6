"""conversation_store's settings (environment prefix ``CONVERSATION_STORE_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings


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
