"""Sandbox settings: defaults that suit ``./dev run``, JSON from the environment or a file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.main import dispatch_options
from sandbox.settings import load
from shared.config import ConfigError


class TestDefaults:
    def test_the_demo_setup_for_dev_run(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in ("SANDBOX_CHANNELS", "SANDBOX_TEMPLATES", "SANDBOX_CONFIG_FILE",
                     "SANDBOX_WEBHOOK_URL", "SANDBOX_PORT", "SANDBOX_APP_SECRET"):
            monkeypatch.delenv(name, raising=False)
        settings = load()
        assert settings.port == 8090
        assert settings.webhook_url == "http://127.0.0.1:8080/webhook"
        assert settings.secret == b"sandbox-app-secret"
        (channel,) = settings.channels
        assert (channel.phone_number_id, channel.display_phone_number, channel.waba_id,
                channel.tenant_id, channel.throughput_mps) == (
            "100000000000001", "15550001111", "200000000000001", "demo", 80)
        assert channel.access_token.get_secret_value() == "sandbox-token"
        by_name = {t.name: t for t in settings.templates}
        assert by_name["hello_world"].body_parameters == 0
        assert by_name["order_update"].body_parameters == 2
        assert {t.status for t in settings.templates} == {"APPROVED"}


class TestFromEnvironment:
    def test_channels_and_templates_as_json(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("SANDBOX_CHANNELS", json.dumps([
            {"phone_number_id": "1", "tenant_id": "t", "waba_id": "w", "access_token": "tok",
             "throughput_mps": 1000}]))
        monkeypatch.setenv("SANDBOX_TEMPLATES", json.dumps([
            {"name": "promo", "language": "pt_BR", "status": "paused", "body_text": "{{1}}"}]))
        monkeypatch.setenv("SANDBOX_WEBHOOK_URL", "")
        settings = load()
        assert [c.throughput_mps for c in settings.channels] == [1000]
        (template,) = settings.templates
        assert (template.language, template.status, template.body_parameters) == (
            "pt_BR", "PAUSED", 1)
        assert settings.webhook_url is None

    def test_the_webhook_retry_budget(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("SANDBOX_WEBHOOK_RETRY_SECONDS", raising=False)
        assert dispatch_options(load()).retry_seconds is None  # the attempt count bounds
        monkeypatch.setenv("SANDBOX_WEBHOOK_RETRY_SECONDS", "600")
        assert dispatch_options(load()).retry_seconds == 600.0
        monkeypatch.setenv("SANDBOX_WEBHOOK_RETRY_SECONDS", "0")
        with pytest.raises(ConfigError, match="webhook_retry_seconds"):
            load()

    def test_a_config_file_wins(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        path = tmp_path / "sandbox.json"
        path.write_text(json.dumps({"channels": [
            {"phone_number_id": "9", "tenant_id": "t", "waba_id": "w"}]}))
        monkeypatch.setenv("SANDBOX_CONFIG_FILE", str(path))
        settings = load()
        assert [c.phone_number_id for c in settings.channels] == ["9"]
        assert settings.templates  # not in the file: the defaults stay

    @pytest.mark.parametrize(("name", "value"), [
        ("SANDBOX_WEBHOOK_URL", "ftp://x"),
        ("SANDBOX_CHANNELS", "not json"),
        ("SANDBOX_CONFIG_FILE", "/nonexistent/sandbox.json"),
        ("SANDBOX_DUPLICATE_PROBABILITY", "1.5"),
    ])
    def test_bad_values_are_one_readable_error(self, monkeypatch: pytest.MonkeyPatch,
                                               name: str, value: str) -> None:
        monkeypatch.setenv(name, value)
        with pytest.raises(ConfigError):
            load()
