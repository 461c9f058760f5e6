"""Settings every service shares, read from the environment with safe local defaults.

Each service subclasses :class:`ServiceSettings` with its own ``env_prefix``; the infrastructure
addresses keep their conventional unprefixed names (``KAFKA_BOOTSTRAP_SERVERS``, ``MONGODB_URI``)
so one environment points every service, test and tool at the same servers.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError


class ConfigError(ValueError):
    """Configuration is unusable; the message says which variable and why, in one line."""


class InfraSettings(BaseSettings):
    """Where Kafka and MongoDB are, and how topics are laid out."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "kafka_bootstrap_servers"),
    )
    mongodb_uri: str = Field(
        default="mongodb://127.0.0.1:27017/",
        validation_alias=AliasChoices("MONGODB_URI", "mongodb_uri"),
    )
    mongodb_database: str = Field(
        default="inbox", validation_alias=AliasChoices("MONGODB_DATABASE", "mongodb_database")
    )
    # Prepended to every topic name: lets tests (and shared clusters) isolate their topics.
    topic_prefix: str = Field(
        default="", validation_alias=AliasChoices("KAFKA_TOPIC_PREFIX", "topic_prefix")
    )
    topic_partitions: int = Field(
        default=6,
        ge=1,
        le=1000,
        validation_alias=AliasChoices("KAFKA_TOPIC_PARTITIONS", "topic_partitions"),
    )

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _check_bootstrap(cls, value: str) -> str:
        for server in value.split(","):
            host, sep, port = server.strip().rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"KAFKA_BOOTSTRAP_SERVERS entry {server!r} is not host:port")
        return value

    @field_validator("mongodb_uri")
    @classmethod
    def _check_mongo_uri(cls, value: str) -> str:
        if not value.startswith(("mongodb://", "mongodb+srv://")):
            raise ValueError(f"MONGODB_URI {value!r} must start with mongodb:// or mongodb+srv://")
        return value

    def topic(self, name: str) -> str:
        """The real topic name for a contract topic constant."""
        return f"{self.topic_prefix}{name}"


class ServiceSettings(InfraSettings):
    """Base for a service's settings: infrastructure plus logging and the HTTP port."""

    log_level: str = Field(default="INFO", validation_alias=AliasChoices("LOG_LEVEL", "log_level"))
    host: str = "127.0.0.1"
    port: int = 8000
    # Fernet keys sealing channels' Meta tokens at rest, comma-separated, the first seals
    # (shared/channel_tokens.py, docs/security.md); empty = the development key, with a warning.
    channel_token_keys: SecretStr = Field(
        default=SecretStr(""),
        validation_alias=AliasChoices("CHANNEL_TOKEN_KEYS", "channel_token_keys"),
    )


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S]) -> S:
    """Build settings, turning a validation failure into one readable :class:`ConfigError`."""
    try:
        return cls()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from None
    except SettingsError as exc:  # e.g. a JSON-typed variable that is not JSON
        raise ConfigError(f"invalid configuration: {str(exc).splitlines()[0]}") from None
