"""Sandbox configuration: ``SANDBOX_*`` variables, with defaults that suit ``./dev run``.

Channels and templates come from ``SANDBOX_CHANNELS`` / ``SANDBOX_TEMPLATES`` (JSON lists) or from
a JSON file named by ``SANDBOX_CONFIG_FILE`` (``{"channels": [...], "templates": [...]}``, which
wins); without either, one demo number and a few approved demo templates.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict, SettingsError

from sandbox.catalog import TemplateSpec, demo_channel, demo_templates
from shared.channels import Channel
from shared.config import ConfigError, ServiceSettings, load_settings


class SandboxSettings(ServiceSettings):
    """Settings of the sandbox (env prefix ``SANDBOX_``). Kafka and MongoDB are not used."""

    model_config = SettingsConfigDict(env_prefix="SANDBOX_", extra="ignore", populate_by_name=True)

    port: int = 8090
    # Where status and customer-message webhooks go (webhook_ingest's POST endpoint); empty: none.
    webhook_url: str | None = "http://127.0.0.1:8080/webhook"
    app_secret: SecretStr = SecretStr("sandbox-app-secret")
    config_file: Path | None = None
    channels: list[Channel] = Field(default_factory=lambda: [demo_channel()])
    templates: list[TemplateSpec] = Field(default_factory=demo_templates)

    # Meta's customer-service window.
    window: timedelta = timedelta(hours=24)
    # A number may burst this many seconds of its throughput before 130429.
    rate_burst_seconds: float = Field(default=1.0, gt=0, le=60)
    retry_after_seconds: int = Field(default=1, ge=0, le=3600)
    # Meta's pair rate limit (131056): about one message per 6 s per customer, bursts up to 45.
    pair_rate_limit: bool = False
    pair_rate_per_second: float = Field(default=1 / 6, gt=0)
    pair_burst: int = Field(default=45, ge=1)

    # Status webhooks after an accepted message: delays (seconds) and their random spread.
    sent_delay_seconds: float = Field(default=0.1, ge=0)
    delivered_delay_seconds: float = Field(default=0.3, ge=0)
    read_delay_seconds: float = Field(default=1.0, ge=0)
    delay_jitter: float = Field(default=0.5, ge=0, le=1)
    send_read_status: bool = True
    out_of_order_probability: float = Field(default=0.0, ge=0, le=1)
    duplicate_probability: float = Field(default=0.0, ge=0, le=1)
    random_seed: int | None = None

    # Webhook delivery: batching, concurrency, bounded retries (like Meta, but minutes not days).
    webhook_batch_max: int = Field(default=100, ge=1, le=1000)
    webhook_batch_interval_seconds: float = Field(default=0.05, gt=0, le=5)
    webhook_concurrency: int = Field(default=4, ge=1, le=64)
    webhook_timeout_seconds: float = Field(default=5.0, gt=0)
    webhook_max_attempts: int = Field(default=6, ge=1, le=30)
    webhook_retry_base_seconds: float = Field(default=0.5, gt=0)
    webhook_retry_max_seconds: float = Field(default=30.0, gt=0)
    # Set: retry a failed webhook for this long after its first attempt, however many attempts
    # that takes (closer to Meta's 7 days; e.g. a webhook_ingest outage in a fault drill).
    webhook_retry_seconds: float | None = Field(default=None, gt=0)
    # Statuses waiting to be posted; beyond this new ones are dropped (and counted).
    webhook_queue_limit: int = Field(default=200_000, ge=100)

    # A created or edited template's review ends (webhook APPROVED / REJECTED) after this long.
    template_review_seconds: float = Field(default=0.5, ge=0, le=3600)

    # Send requests remembered for the control API (oldest forgotten first).
    received_limit: int = Field(default=500_000, ge=100)

    @field_validator("webhook_url")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.strip()

    @model_validator(mode="after")
    def _read_config_file(self) -> SandboxSettings:
        if self.config_file is not None:
            try:
                data: Any = json.loads(self.config_file.read_text())
            except (OSError, ValueError) as exc:
                raise ValueError(f"SANDBOX_CONFIG_FILE {self.config_file}: {exc}") from None
            if not isinstance(data, dict):
                raise ValueError(f"SANDBOX_CONFIG_FILE {self.config_file}: not a JSON object")
            if "channels" in data:
                self.channels = [Channel.model_validate(c) for c in data["channels"]]
            if "templates" in data:
                self.templates = [TemplateSpec.model_validate(t) for t in data["templates"]]
        return self

    @property
    def secret(self) -> bytes:
        return self.app_secret.get_secret_value().encode()



def load() -> SandboxSettings:
    """The settings from the environment; unparsable JSON is a :class:`ConfigError` too."""
    try:
        return load_settings(SandboxSettings)
    except SettingsError as exc:
        cause = f": {exc.__cause__}" if exc.__cause__ else ""
        raise ConfigError(f"invalid configuration: {exc}{cause}") from None
