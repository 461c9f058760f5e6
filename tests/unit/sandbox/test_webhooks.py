"""The sandbox's webhooks are Meta's shapes: webhook_ingest's real parser reads every one whole."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from pydantic import SecretStr

from sandbox.customer import CustomerMessage, InvalidCustomerMessage, inbound_message, opens_window
from sandbox.webhooks import message_payload, pricing, sign, status_item, statuses_payload
from services.webhook_ingest.normalize import normalize
from services.webhook_ingest.payload import parse_webhook
from services.webhook_ingest.signature import is_valid
from shared.channels import Channel, ChannelDirectory
from shared.events.base import Event
from shared.events.inbound import MessageReceived, MessageStatusChanged

ONE = Channel(phone_number_id="100000000000001", display_phone_number="15550001111",
              waba_id="200000000000001", tenant_id="acme", access_token=SecretStr("t"))
TWO = Channel(phone_number_id="100000000000002", display_phone_number="15550002222",
              waba_id="200000000000001", tenant_id="acme")
OTHER = Channel(phone_number_id="100000000000003", display_phone_number="15550003333",
                waba_id="200000000000009", tenant_id="globex")
RECEIVED_AT = datetime(2026, 3, 1, 12, tzinfo=UTC)


def ingest(payload: dict[str, Any]) -> list[Event]:
    """What webhook_ingest makes of the body (asserting nothing failed to parse)."""
    result = normalize(parse_webhook(orjson.dumps(payload)),
                       ChannelDirectory([ONE, TWO, OTHER]), RECEIVED_AT)
    assert result.failures == []
    assert result.unassigned == set()
    return result.events


class TestSignature:
    def test_webhook_ingest_accepts_the_signature(self) -> None:
        body = b'{"object":"whatsapp_business_account","entry":[]}'
        assert is_valid(body, sign(body, b"app-secret"), [b"app-secret"])

    def test_another_secret_or_body_does_not_verify(self) -> None:
        body = b'{"entry":[]}'
        assert not is_valid(body, sign(body, b"app-secret"), [b"other"])
        assert not is_valid(body + b" ", sign(body, b"app-secret"), [b"app-secret"])


class TestStatusPayloads:
    def test_a_batch_over_numbers_and_accounts_becomes_one_event_per_status(self) -> None:
        batch = [
            (ONE, status_item("wamid.A", "sent", 1772366400, "16505551234",
                              pricing=pricing(None), callback_data="cmd-1")),
            (TWO, status_item("wamid.B", "delivered", 1772366401, "5511987654321",
                              pricing=pricing("MARKETING"))),
            (ONE, status_item("wamid.A", "read", 1772366402, "16505551234")),
            (OTHER, status_item("wamid.C", "failed", 1772366403, "447700900123",
                                error_code=131026)),
        ]
        payload = statuses_payload(batch)
        assert [e["id"] for e in payload["entry"]] == ["200000000000001", "200000000000009"]
        assert len(payload["entry"][0]["changes"]) == 2  # one per number

        events = ingest(payload)
        assert all(isinstance(e, MessageStatusChanged) for e in events)
        got = {(e.payload.wamid, e.payload.status): e for e in events
               if isinstance(e, MessageStatusChanged)}
        assert set(got) == {("wamid.A", "sent"), ("wamid.B", "delivered"),
                            ("wamid.A", "read"), ("wamid.C", "failed")}

        sent = got["wamid.A", "sent"]
        assert sent.conversation_id == "100000000000001:16505551234"
        assert sent.tenant_id == "acme"
        assert sent.payload.at == datetime.fromtimestamp(1772366400, UTC)
        assert sent.payload.biz_opaque_callback_data == "cmd-1"
        assert sent.payload.pricing == {"billable": False, "pricing_model": "PMP",
                                        "type": "free_customer_service", "category": "service"}
        assert got["wamid.B", "delivered"].payload.pricing == {
            "billable": True, "pricing_model": "PMP", "type": "regular",
            "category": "marketing"}
        failed = got["wamid.C", "failed"]
        assert failed.tenant_id == "globex"
        assert [e.code for e in failed.payload.errors] == [131026]
        assert failed.payload.errors[0].title == "Message undeliverable"
        # Nothing the parser did not know: only the display number rides in extra.
        assert failed.payload.extra == {"metadata": {"display_phone_number": "15550003333"}}


CUSTOMER = "16505551234"


def customer_message(message_type: str, content: Any = None, **extra: Any) -> CustomerMessage:
    return CustomerMessage.model_validate({
        "phone_number_id": ONE.phone_number_id, "from": CUSTOMER, "type": message_type,
        "content": content, "name": "Sheena", **extra})


class TestCustomerMessages:
    @pytest.mark.parametrize(("message_type", "content", "preview"), [
        ("text", {"body": "Hi there"}, "Hi there"),
        ("text", "Plain string", "Plain string"),
        ("image", None, "📷 Photo"),
        ("image", {"caption": "The broken part"}, "The broken part"),
        ("video", None, "🎥 Video"),
        ("audio", None, "🎤 Voice message"),
        ("document", None, "📄 document.pdf"),
        ("sticker", None, "💟 Sticker"),
        ("location", {"latitude": 1.5, "longitude": 2.5, "name": "Office"}, "📍 Office"),
        ("contacts", None, "👤 Jane Doe"),
        ("interactive", None, "Yes"),
        ("interactive", {"type": "list_reply", "list_reply": {"id": "r1", "title": "Red"}},
         "Red"),
        ("button", {"text": "Stop promotions", "payload": "STOP"}, "Stop promotions"),
        ("reaction", {"message_id": "wamid.OUT", "emoji": "👍"}, "Reacted 👍"),
        ("order", None, "🛒 Order (1 item)"),
        ("unsupported", None, "Unsupported message (unknown)"),
    ])
    def test_every_type_becomes_a_message_received_with_nothing_left_over(
        self, message_type: str, content: Any, preview: str
    ) -> None:
        request = customer_message(message_type, content)
        message = inbound_message(request, "wamid.IN1", 1772366400)
        (event,) = ingest(message_payload(ONE, message, request.name))
        assert isinstance(event, MessageReceived)
        payload = event.payload
        assert (payload.wamid, payload.message_type, payload.from_wa_id) == (
            "wamid.IN1", message_type, CUSTOMER)
        assert payload.customer is not None
        assert payload.customer.name == "Sheena"
        assert payload.sent_at == datetime.fromtimestamp(1772366400, UTC)
        assert payload.business_display_number == "15550001111"
        assert payload.preview == preview
        assert payload.extra == {}
        assert event.conversation_id == f"{ONE.phone_number_id}:{CUSTOMER}"
        assert event.tenant_id == "acme"

    def test_a_reply_carries_its_context(self) -> None:
        request = customer_message("text", "yes", context={"from": "15550001111",
                                                            "id": "wamid.OUT"})
        (event,) = ingest(message_payload(ONE, inbound_message(request, "wamid.IN2", 1),
                                          request.name))
        assert isinstance(event, MessageReceived)
        assert event.payload.context is not None
        assert event.payload.context.message_id == "wamid.OUT"

    def test_a_system_message_has_no_contacts_and_does_not_open_the_window(self) -> None:
        request = customer_message("system", {"body": "changed", "wa_id": "16505559999",
                                              "type": "user_changed_number"})
        payload = message_payload(ONE, inbound_message(request, "wamid.SYS", 1), request.name)
        assert "contacts" not in payload["entry"][0]["changes"][0]["value"]
        (event,) = ingest(payload)
        assert isinstance(event, MessageReceived)
        assert event.payload.customer is None
        assert not opens_window("system")
        assert opens_window("reaction")
        assert opens_window("text")

    def test_a_profile_without_a_name_is_just_the_number(self) -> None:
        request = customer_message("text", "hi", name=None)
        (event,) = ingest(message_payload(ONE, inbound_message(request, "wamid.N", 1), None))
        assert isinstance(event, MessageReceived)
        assert event.payload.customer is not None
        assert (event.payload.customer.wa_id, event.payload.customer.name) == (CUSTOMER, None)

    @pytest.mark.parametrize(("message_type", "content"), [
        ("reaction", {"emoji": "👍"}),
        ("location", {"latitude": 1.0}),
        ("image", "a string"),
        ("contacts", {"name": "not a list"}),
    ])
    def test_an_unusable_request_is_refused(self, message_type: str, content: Any) -> None:
        with pytest.raises(InvalidCustomerMessage):
            inbound_message(customer_message(message_type, content), "wamid.X", 1)
