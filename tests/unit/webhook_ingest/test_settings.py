from __future__ import annotations

from datetime import timedelta

import pytest

from services.webhook_ingest.settings import WebhookIngestSettings
from shared.config import ConfigError, load_settings


def test_reads_its_prefixed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_INGEST_APP_SECRETS", "new-secret, old-secret")
    monkeypatch.setenv("WEBHOOK_INGEST_VERIFY_TOKEN", "token")
    monkeypatch.setenv("WEBHOOK_INGEST_MAX_BODY_BYTES", "5000000")
    monkeypatch.setenv("WEBHOOK_INGEST_RAW_RETENTION", "P14D")
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", "staging.")
    settings = load_settings(WebhookIngestSettings)
    assert settings.secrets() == (b"new-secret", b"old-secret")
    assert settings.verify_token.get_secret_value() == "token"
    assert settings.max_body_bytes == 5_000_000
    assert settings.raw_retention == timedelta(days=14)
    assert settings.topic("whatsapp.inbound.v1") == "staging.whatsapp.inbound.v1"


def test_a_missing_secret_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEBHOOK_INGEST_APP_SECRETS", raising=False)
    monkeypatch.setenv("WEBHOOK_INGEST_VERIFY_TOKEN", "token")
    with pytest.raises(ConfigError, match="WEBHOOK_INGEST_APP_SECRETS"):
        load_settings(WebhookIngestSettings)


@pytest.mark.parametrize(("field", "value"), [("app_secrets", " , "), ("verify_token", ""),
                                              ("path", "webhook")])
def test_refuses_blank_secrets_and_relative_paths(field: str, value: str) -> None:
    options = {"app_secrets": "s", "verify_token": "t", field: value}
    with pytest.raises(ValueError, match=field):
        WebhookIngestSettings(**options)  # type: ignore[arg-type]
