"""webhook_ingest configuration: ``WEBHOOK_INGEST_*`` plus the shared infrastructure variables."""

from __future__ import annotations

from datetime import timedelta

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings


class WebhookIngestSettings(ServiceSettings):
    """Settings of the webhook endpoint (env prefix ``WEBHOOK_INGEST_``)."""

    model_config = SettingsConfigDict(
        env_prefix="WEBHOOK_INGEST_", extra="ignore", populate_by_name=True
    )

    # One or more app secrets, comma-separated: the new one first while rotating. (The aliases
    # make a missing value name its environment variable.)
    app_secrets: SecretStr = Field(
        validation_alias=AliasChoices("WEBHOOK_INGEST_APP_SECRETS", "app_secrets")
    )
    # The string typed into App Dashboard > WhatsApp > Configuration > Verify token.
    verify_token: SecretStr = Field(
        validation_alias=AliasChoices("WEBHOOK_INGEST_VERIFY_TOKEN", "verify_token")
    )
    path: str = "/webhook"
    # Meta sends up to 3 MB; the raw topic's max.message.bytes must allow this plus headers.
    max_body_bytes: int = Field(default=4_000_000, ge=1024, le=64_000_000)
    # How long a request may wait for Kafka's acknowledgement before answering 503.
    publish_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    # Timed-out requests remembered (by body digest) so Meta's retry reuses their publish.
    pending_capacity: int = Field(default=1000, ge=0, le=100_000)
    channels_refresh_seconds: float = Field(default=30.0, gt=0)
    # Contact aliases (number / BSUID -> conversation) kept in memory: a hit costs no query.
    contacts_cache_size: int = Field(default=200_000, ge=1_000, le=10_000_000)
    # Create the raw topic when missing and set its retention and size limit.
    manage_raw_topic: bool = True
    raw_retention: timedelta = timedelta(days=30)
    # How long shutdown waits for publishes still in flight before stopping the producer.
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)
    port: int = 8080

    @field_validator("app_secrets", "verify_token")
    @classmethod
    def _not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip(" ,"):
            raise ValueError("must not be empty")
        return value

    @field_validator("path")
    @classmethod
    def _absolute_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with /")
        return value

    def secrets(self) -> tuple[bytes, ...]:
        """The app secrets as HMAC keys."""
        raw = self.app_secrets.get_secret_value().split(",")
        return tuple(s.strip().encode() for s in raw if s.strip())
