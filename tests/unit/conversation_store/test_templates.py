"""The template status fold: pure parts, and the fold over a fake collection."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.conversation_store.adapters.mongo_templates import TemplateStatusFold
from services.conversation_store.templates import (
    effective_status,
    latest_per_template,
    status_update,
    supersedes,
)
from shared.consumer import Received
from shared.events import TemplateStatus, TemplateStatusChanged

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def status_event(event: str, seconds: float = 0, name: str = "welcome",
                 category: str | None = "utility") -> TemplateStatusChanged:
    return TemplateStatusChanged(
        occurred_at=T0 + timedelta(seconds=seconds), tenant_id="acme",
        payload=TemplateStatus(waba_id="waba-1", template_id="123", name=name,
                               language="en_US", event=event, category=category,
                               reason="NONE"))


class FakeTemplates:
    """find_one and update_one(upsert) over a dict, as the fold uses them."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}

    async def find_one(self, query, projection=None):
        return self.docs.get(query["_id"])

    async def update_one(self, query, update, upsert=False):
        doc = self.docs.get(query["_id"])
        if doc is None:
            doc = self.docs[query["_id"]] = {"_id": query["_id"], **update["$setOnInsert"]}
        doc.update(update["$set"])


class FakeDatabase:
    def __init__(self, templates: FakeTemplates) -> None:
        self.templates = templates

    def __getitem__(self, name: str) -> FakeTemplates:
        assert name == "templates"
        return self.templates


def fold_over(fake: FakeTemplates) -> TemplateStatusFold:
    return TemplateStatusFold(FakeDatabase(fake))  # type: ignore[arg-type]


def batch(*events: TemplateStatusChanged) -> list[Received[Any]]:
    return [Received(e, "whatsapp.inbound.v1", 0, i, b"acme", b"") for i, e in enumerate(events)]


class TestPure:
    @pytest.mark.parametrize(("event", "status"), [
        ("APPROVED", "APPROVED"), ("paused", "PAUSED"), ("DISABLED", "DISABLED"),
        ("REJECTED", "REJECTED"), ("REINSTATED", "APPROVED"), ("FLAGGED", "APPROVED")])
    def test_effective_status(self, event, status):
        assert effective_status(event) == status

    def test_newest_event_per_template_wins_within_a_batch(self):
        events = [status_event("APPROVED", 5), status_event("PAUSED", 9),
                  status_event("APPROVED", 1, name="other")]
        latest = latest_per_template(events)
        assert latest["waba-1:welcome:en_US"].payload.event == "PAUSED"
        assert latest["waba-1:other:en_US"].payload.event == "APPROVED"

    def test_older_event_never_replaces_a_newer_status(self):
        assert supersedes(status_event("PAUSED", 10), T0 + timedelta(seconds=10))
        assert not supersedes(status_event("APPROVED", 5), T0 + timedelta(seconds=10))
        assert supersedes(status_event("APPROVED", 0), None)

    def test_update_shape(self):
        update = status_update(status_event("APPROVED"))
        assert update["$set"]["status"] == "APPROVED"
        assert update["$set"]["category"] == "UTILITY"
        assert update["$setOnInsert"] == {"components": [], "created_at": T0}


class TestFold:
    async def test_statuses_are_folded_in_time_order_whatever_the_arrival_order(self):
        fake = FakeTemplates()
        fold = fold_over(fake)
        await fold(batch(status_event("PENDING", 0)))
        await fold(batch(status_event("PAUSED", 20)))
        await fold(batch(status_event("APPROVED", 10)))  # late, older: ignored
        doc = fake.docs["waba-1:welcome:en_US"]
        assert (doc["status"], doc["status_at"]) == ("PAUSED", T0 + timedelta(seconds=20))
        assert doc["tenant_id"] == "acme"

    async def test_replay_changes_nothing_and_other_events_are_ignored(self):
        fake = FakeTemplates()
        fold = fold_over(fake)
        approved = status_event("APPROVED", 3)
        await fold(batch(approved))
        before = dict(fake.docs["waba-1:welcome:en_US"])
        await fold(batch(approved))
        assert fake.docs["waba-1:welcome:en_US"] == before
        assert len(fake.docs) == 1
