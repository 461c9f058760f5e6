"""Meta's ``message_template_components_update`` folded into the stored template's components:
newest wins by ``components_at``; a media header and unchanged examples are kept; a status
event keeps Meta's rejection details."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.conversation_store.templates import (
    components_update,
    latest_of_each,
    status_update,
    webhook_components,
)
from shared.consumer import Received
from shared.events import (
    TemplateComponents,
    TemplateComponentsChanged,
    TemplateStatus,
    TemplateStatusChanged,
)
from shared.events.base import Event
from tests.unit.conversation_store.test_templates import FakeTemplates, fold_over

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SYNCED: list[dict[str, Any]] = [
    {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["h"]}},
    {"type": "BODY", "text": "Hi {{1}}, order {{2}} shipped.",
     "example": {"body_text": ["Ana", "A-1"]}},
    {"type": "FOOTER", "text": "Old footer"},
    {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Track",
                                     "url": "https://x.com/t/{{1}}", "example": ["A-1"]}]},
]


def batch(*events: Event) -> list[Received[Event]]:
    return [Received(e, "whatsapp.inbound.v1", 0, i, b"acme", b"") for i, e in enumerate(events)]


def changed(seconds: float = 0, *, header: str | None = None, body: str | None = None,
            footer: str | None = None, buttons: list[dict[str, Any]] | None = None
            ) -> TemplateComponentsChanged:
    return TemplateComponentsChanged(
        occurred_at=T0 + timedelta(seconds=seconds), tenant_id="acme",
        payload=TemplateComponents(waba_id="waba-1", template_id="123", name="shipped",
                                   language="en_US", header=header, body=body, footer=footer,
                                   buttons=buttons or []))


def test_the_texts_are_metas_and_a_media_header_is_kept() -> None:
    out = webhook_components(changed(body="Hello {{1}}, order {{2}} is on its way.",
                                     footer="New footer").payload, SYNCED)
    assert out[0] == SYNCED[0]  # the webhook names only text headers
    # Same variables: the example stays (a send's defaults and the previews read it).
    assert out[1] == {"type": "BODY", "text": "Hello {{1}}, order {{2}} is on its way.",
                      "example": {"body_text": ["Ana", "A-1"]}}
    assert out[2] == {"type": "FOOTER", "text": "New footer"}
    assert len(out) == 3  # no buttons in this update


def test_changed_variables_drop_the_example_and_a_text_header_replaces() -> None:
    out = webhook_components(changed(header="Order {{1}}", body="Hi {{1}}").payload, SYNCED)
    assert out[0] == {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"}
    assert out[1] == {"type": "BODY", "text": "Hi {{1}}"}


def test_buttons_in_metas_webhook_shape() -> None:
    buttons = [{"message_template_button_type": "URL", "message_template_button_text": "Track",
                "message_template_button_url": "https://x.com/t/{{1}}"},
               {"message_template_button_type": "PHONE_NUMBER",
                "message_template_button_text": "Call",
                "message_template_button_phone_number": "+15550001111"}]
    out = webhook_components(changed(body="Hi", buttons=buttons).payload, SYNCED)
    assert out[-1] == {"type": "BUTTONS", "buttons": [
        {"type": "URL", "text": "Track", "url": "https://x.com/t/{{1}}", "example": ["A-1"]},
        {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "+15550001111"}]}


def test_a_template_known_only_from_the_webhook() -> None:
    out = webhook_components(changed(body="Hi").payload, None)
    assert out == [{"type": "BODY", "text": "Hi"}]
    # Without a body in the webhook, the stored one stays.
    assert webhook_components(changed(footer="f").payload, SYNCED)[1] == SYNCED[1]
    assert webhook_components(changed().payload, []) == []


def test_the_update_is_ordered_by_components_at() -> None:
    update = components_update(changed(body="Hi"), {"components": SYNCED})
    assert update["$set"]["components_at"] == T0
    assert update["$set"]["components_source"] == "webhook"
    assert update["$setOnInsert"] == {"created_at": T0}


async def test_the_fold_applies_the_newest_and_never_an_older_one() -> None:
    fake = FakeTemplates()
    fake.docs["waba-1:shipped:en_US"] = {"_id": "waba-1:shipped:en_US", "components": SYNCED,
                                         "components_at": T0 + timedelta(seconds=5)}
    fold = fold_over(fake)
    await fold(batch(changed(0, body="Older text")))
    assert fake.docs["waba-1:shipped:en_US"]["components"] == SYNCED
    await fold(batch(changed(10, body="Newer {{1}}"), changed(20, body="Newest {{1}}")))
    doc = fake.docs["waba-1:shipped:en_US"]
    assert doc["components"][1]["text"] == "Newest {{1}}"
    assert doc["components"][0] == SYNCED[0]


def test_latest_of_each_keeps_components_apart_from_statuses() -> None:
    status = TemplateStatusChanged(occurred_at=T0, tenant_id="acme", payload=TemplateStatus(
        waba_id="waba-1", template_id="123", name="shipped", language="en_US",
        event="APPROVED"))
    kinds = {kind for kind, _ in latest_of_each([status, changed(body="x")])}
    assert kinds == {TemplateStatusChanged, TemplateComponentsChanged}


def test_a_rejection_keeps_metas_details() -> None:
    rejected = TemplateStatusChanged(occurred_at=T0, tenant_id="acme", payload=TemplateStatus(
        waba_id="waba-1", template_id="123", name="shipped", language="en_US",
        event="REJECTED", reason="INVALID_FORMAT",
        extra={"rejection_info": {"reason": "INVALID_FORMAT",
                                  "recommendation": "Remove the variable at the start."},
               "nested": [["a"]]}))
    details = status_update(rejected)["$set"]["status_details"]
    assert details == {"event": "REJECTED", "nested": ['["a"]'], "rejection_info": {
        "reason": "INVALID_FORMAT", "recommendation": "Remove the variable at the start."}}
