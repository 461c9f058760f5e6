"""The webhook payload corpus (tests/fixtures/webhooks) and the identities it uses."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.webhook_ingest.normalize import normalize
from services.webhook_ingest.payload import parse_webhook
from shared.channels import Channel, ChannelDirectory
from shared.events.base import Event

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "webhooks"
WABA_ID = "102290129340398"
PHONE_NUMBER_ID = "106540352242922"
CUSTOMER = "16505551234"
TENANT = "acme"
SECRET = b"app-secret-for-tests"
VERIFY_TOKEN = "verify-me"
RECEIVED_AT = datetime(2025, 6, 16, 12, 0, tzinfo=UTC)


def fixture_names() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("*.json"))


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def body(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def channel() -> Channel:
    return Channel(phone_number_id=PHONE_NUMBER_ID, tenant_id=TENANT, waba_id=WABA_ID)


def directory() -> ChannelDirectory:
    return ChannelDirectory([channel()])


def parse(name: str, tenants: ChannelDirectory | None = None) -> list[Event]:
    """The events of a corpus payload (asserting that no change failed to parse)."""
    payload = parse_webhook(body(name))
    result = normalize(payload, tenants or directory(), RECEIVED_AT)
    assert result.failures == []
    return result.events
