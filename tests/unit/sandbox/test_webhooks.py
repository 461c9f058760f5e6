"""The sandbox's webhooks are Meta's 2026 shapes (with BSUIDs), and webhook_ingest reads them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from pydantic import SecretStr

from sandbox.customer import (
    CustomerMessage,
    InvalidCustomerMessage,
    inbound_message,
    next_number,
    opens_window,
)
from sandbox.identity import CustomerBook, bsuid_for
from sandbox.webhooks import (
    conversation_object,
    message_payload,
    pricing,
    sign,
    status_item,
    statuses_payload,
)
from services.webhook_ingest.normalize import normalize
from services.webhook_ingest.payload import parse_webhook
from services.webhook_ingest.signature import is_valid
from shared.channels import Channel, ChannelDirectory
from shared.events.base import Event
from shared.events.inbound import MessageReceived, MessageStatusChanged, WebhookChangeUnhandled

ONE = Channel(phone_number_id="100000000000001", display_phone_number="15550001111",
              waba_id="200000000000001", tenant_id="acme", access_token=SecretStr("t"))
TWO = Channel(phone_number_id="100000000000002", display_phone_number="15550002222",
              waba_id="200000000000001", tenant_id="acme")
OTHER = Channel(phone_number_id="100000000000003", display_phone_number="15550003333",
                waba_id="200000000000009", tenant_id="globex")
RECEIVED_AT = datetime(2026, 3, 1, 12, tzinfo=UTC)
CUSTOMER = "16505551234"
CUSTOMER_ID = bsuid_for(ONE.waba_id, CUSTOMER)
T = 1772366400


def ingest(payload: dict[str, Any]) -> list[Event]:
    """What webhook_ingest makes of the body (asserting nothing failed to parse).

    webhook_ingest does not read a status change's ``contacts[]`` yet: it keeps it whole as
    webhook.unhandled. Nothing else may be left unhandled.
    """
    result = normalize(parse_webhook(orjson.dumps(payload)),
                       ChannelDirectory([ONE, TWO, OTHER]), RECEIVED_AT)
    assert result.failures == []
    assert result.unassigned == set()
    for event in result.events:
        if isinstance(event, WebhookChangeUnhandled):
            value = event.payload.value
            assert isinstance(value, dict)
            assert set(value) == {"metadata", "contacts"}, value
    return [e for e in result.events if not isinstance(e, WebhookChangeUnhandled)]


def changes(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [c["value"] for e in payload["entry"] for c in e["changes"]]


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
            (ONE, status_item("wamid.A", "sent", T, CUSTOMER, pricing=pricing(None),
                              callback_data="cmd-1")),
            (TWO, status_item("wamid.B", "delivered", T + 1, "5511987654321",
                              pricing=pricing("MARKETING"))),
            (ONE, status_item("wamid.A", "read", T + 2, CUSTOMER)),
            (OTHER, status_item("wamid.C", "failed", T + 3, "447700900123",
                                error_code=131026)),
        ]
        payload = statuses_payload(batch)
        assert payload["object"] == "whatsapp_business_account"
        assert [e["id"] for e in payload["entry"]] == ["200000000000001", "200000000000009"]

        events = ingest(payload)
        assert all(isinstance(e, MessageStatusChanged) for e in events)
        got = {(e.payload.wamid, e.payload.status): e for e in events
               if isinstance(e, MessageStatusChanged)}
        assert set(got) == {("wamid.A", "sent"), ("wamid.B", "delivered"),
                            ("wamid.A", "read"), ("wamid.C", "failed")}
        sent = got["wamid.A", "sent"]
        assert sent.conversation_id == f"100000000000001:{CUSTOMER}"
        assert sent.tenant_id == "acme"
        assert sent.payload.at == datetime.fromtimestamp(T, UTC)
        assert sent.payload.biz_opaque_callback_data == "cmd-1"
        assert sent.payload.pricing == {"billable": False, "pricing_model": "PMP",
                                        "type": "free_customer_service", "category": "service"}
        assert sent.payload.recipient_user_id == CUSTOMER_ID
        failed = got["wamid.C", "failed"]
        assert failed.tenant_id == "globex"
        assert [e.code for e in failed.payload.errors] == [131026]
        assert failed.payload.errors[0].title == "Message undeliverable"
        # A failed status to a number carries no BSUID: only the display number rides in extra.
        assert failed.payload.extra == {"metadata": {"display_phone_number": "15550003333"}}

    def test_sent_delivered_and_read_carry_the_bsuid_and_their_recipients(self) -> None:
        book = CustomerBook()
        book.remember(ONE.waba_id, CUSTOMER, name="Sheena", username="@sheena")
        for status, username in (("sent", False), ("delivered", True), ("read", True)):
            payload = statuses_payload([(ONE, status_item("wamid.A", status, T, CUSTOMER))],
                                       book)
            (value,) = changes(payload)
            (item,) = value["statuses"]
            assert (item["recipient_id"], item["recipient_user_id"]) == (CUSTOMER, CUSTOMER_ID)
            profile = {"name": "Sheena", "username": "@sheena"} if username else {
                "name": "Sheena"}
            assert value["contacts"] == [{"profile": profile, "wa_id": CUSTOMER,
                                          "user_id": CUSTOMER_ID}]

    def test_a_customer_the_sandbox_knows_no_profile_of_has_number_and_bsuid_only(self) -> None:
        (value,) = changes(statuses_payload(
            [(ONE, status_item("wamid.A", "delivered", T, CUSTOMER))], CustomerBook()))
        assert value["contacts"] == [{"wa_id": CUSTOMER, "user_id": CUSTOMER_ID}]

    def test_a_failed_status_to_a_number_has_no_contacts_and_no_bsuid(self) -> None:
        item = status_item("wamid.F", "failed", T, CUSTOMER, error_code=131047,
                           error_details="More than 24 hours have passed.")
        (value,) = changes(statuses_payload([(ONE, item)], CustomerBook()))
        assert "contacts" not in value
        (status,) = value["statuses"]
        assert "recipient_user_id" not in status
        assert status["errors"] == [{
            "code": 131047, "title": "Re-engagement message", "message": "Re-engagement message",
            "error_data": {"details": "More than 24 hours have passed."},
            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}]

    def test_a_send_addressed_by_bsuid_gets_it_back_even_when_failed(self) -> None:
        item = status_item("wamid.F", "failed", T, CUSTOMER, error_code=131026,
                           recipient_user_id=CUSTOMER_ID)
        (value,) = changes(statuses_payload([(ONE, item)]))
        assert value["statuses"][0]["recipient_user_id"] == CUSTOMER_ID
        assert "contacts" not in value

    def test_each_change_holds_one_contacts_shape_so_contacts_0_is_statuses_0s(self) -> None:
        other = "447700900123"
        batch = [
            (ONE, status_item("wamid.F", "failed", T, CUSTOMER, error_code=131026)),
            (ONE, status_item("wamid.R", "read", T, other)),
            (ONE, status_item("wamid.S", "sent", T, CUSTOMER)),
            (ONE, status_item("wamid.D", "delivered", T, CUSTOMER)),
            (ONE, status_item("wamid.S2", "sent", T, other)),
        ]
        values = changes(statuses_payload(batch))
        assert [[s["id"] for s in v["statuses"]] for v in values] == [
            ["wamid.F"], ["wamid.R", "wamid.D"], ["wamid.S", "wamid.S2"]]
        for value in values[1:]:
            assert [c["user_id"] for c in value["contacts"]] == [
                s["recipient_user_id"] for s in value["statuses"]]

    def test_a_group_id_gets_no_bsuid(self) -> None:
        item = status_item("wamid.G", "sent", T, "Y2FwaV9ncm91cDoxNzA1NTU5MTAwMzoxMjAz")
        (value,) = changes(statuses_payload([(ONE, item)]))
        assert "contacts" not in value
        assert "recipient_user_id" not in value["statuses"][0]

    @pytest.mark.parametrize(("category", "in_window", "expected"), [
        (None, True, (False, "free_customer_service", "service")),
        ("UTILITY", True, (False, "free_customer_service", "utility")),
        ("UTILITY", False, (True, "regular", "utility")),
        ("MARKETING", True, (True, "regular", "marketing")),
        ("AUTHENTICATION", False, (True, "regular", "authentication")),
    ])
    def test_per_message_pricing(self, category: str | None, in_window: bool,
                                 expected: tuple[bool, str, str]) -> None:
        price = pricing(category, in_window=in_window)
        assert price["pricing_model"] == "PMP"
        assert (price["billable"], price["type"], price["category"]) == expected

    def test_a_conversation_object_when_the_send_path_gives_one(self) -> None:
        conversation = conversation_object("c0ffee", "referral_conversion",
                                           expiration_timestamp=T + 72 * 3600)
        item = status_item("wamid.A", "sent", T, CUSTOMER, conversation=conversation)
        assert item["conversation"] == {"id": "c0ffee", "expiration_timestamp": str(T + 259200),
                                        "origin": {"type": "referral_conversion"}}
        assert "conversation" not in status_item("wamid.A", "sent", T, CUSTOMER)
        (event,) = ingest(statuses_payload([(ONE, item)]))
        assert isinstance(event, MessageStatusChanged)
        assert event.payload.conversation == item["conversation"]


def customer_message(message_type: str, content: Any = None, **extra: Any) -> CustomerMessage:
    return CustomerMessage.model_validate({
        "phone_number_id": ONE.phone_number_id, "from": CUSTOMER, "type": message_type,
        "content": content, "name": "Sheena", **extra})


def posted(request: CustomerMessage, wamid: str = "wamid.IN1", **kwargs: Any) -> dict[str, Any]:
    return message_payload(ONE, inbound_message(request, wamid, T), request.name, **kwargs)


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
    def test_every_type_becomes_a_message_received(
        self, message_type: str, content: Any, preview: str
    ) -> None:
        (event,) = ingest(posted(customer_message(message_type, content)))
        assert isinstance(event, MessageReceived)
        payload = event.payload
        assert (payload.wamid, payload.message_type, payload.from_wa_id) == (
            "wamid.IN1", message_type, CUSTOMER)
        assert payload.customer is not None
        assert payload.customer.name == "Sheena"
        assert payload.sent_at == datetime.fromtimestamp(T, UTC)
        assert payload.business_display_number == "15550001111"
        assert payload.preview == preview
        # webhook_ingest maps the BSUIDs (issue 14) and keeps nothing else in extra.
        assert payload.from_user_id == CUSTOMER_ID
        assert payload.customer.user_id == CUSTOMER_ID
        assert payload.extra == {}
        assert event.conversation_id == f"{ONE.phone_number_id}:{CUSTOMER}"
        assert event.tenant_id == "acme"

    def test_the_sender_is_named_by_number_and_bsuid(self) -> None:
        value = changes(posted(customer_message("text", "hi")))[0]
        assert value["contacts"] == [{"profile": {"name": "Sheena"}, "wa_id": CUSTOMER,
                                      "user_id": CUSTOMER_ID}]
        (message,) = value["messages"]
        assert list(message)[:3] == ["from", "from_user_id", "id"]
        assert (message["from"], message["from_user_id"]) == (CUSTOMER, CUSTOMER_ID)

    def test_the_bsuid_is_the_portfolios(self) -> None:
        request = customer_message("text", "hi")
        elsewhere = message_payload(OTHER, inbound_message(request, "wamid.X", T), "Sheena")
        (message,) = changes(elsewhere)[0]["messages"]
        assert message["from_user_id"] == bsuid_for(OTHER.waba_id, CUSTOMER) != CUSTOMER_ID

    def test_a_username_goes_in_the_profile(self) -> None:
        value = changes(posted(customer_message("text", "hi"), username="@sheena"))[0]
        assert value["contacts"][0]["profile"] == {"name": "Sheena", "username": "@sheena"}

    def test_an_unsupported_message_carries_metas_error(self) -> None:
        (event,) = ingest(posted(customer_message("unsupported", {"type": "poll"})))
        assert isinstance(event, MessageReceived)
        assert [(e.code, e.title) for e in event.payload.errors] == [
            (131051, "Message type unknown")]

    def test_a_sticker_says_whether_it_is_animated(self) -> None:
        (message,) = changes(posted(customer_message("sticker")))[0]["messages"]
        assert message["sticker"]["animated"] is False

    def test_a_reply_carries_its_context(self) -> None:
        request = customer_message("text", "yes", context={"from": "15550001111",
                                                            "id": "wamid.OUT"})
        (event,) = ingest(posted(request, "wamid.IN2"))
        assert isinstance(event, MessageReceived)
        assert event.payload.context is not None
        assert event.payload.context.message_id == "wamid.OUT"

    def test_a_profile_without_a_name_is_the_number_and_bsuid(self) -> None:
        request = customer_message("text", "hi", name=None)
        value = changes(posted(request))[0]
        assert value["contacts"] == [{"wa_id": CUSTOMER, "user_id": CUSTOMER_ID}]
        (event,) = ingest(posted(request))
        assert isinstance(event, MessageReceived)
        assert event.payload.customer is not None
        assert (event.payload.customer.wa_id, event.payload.customer.name) == (CUSTOMER, None)

    def test_a_sender_that_is_no_phone_number_gets_no_bsuid(self) -> None:
        request = CustomerMessage.model_validate({
            "phone_number_id": ONE.phone_number_id, "from": "not-a-number", "name": "X"})
        value = changes(posted(request))[0]
        assert value["contacts"] == [{"profile": {"name": "X"}, "wa_id": "not-a-number"}]
        assert "from_user_id" not in value["messages"][0]

    @pytest.mark.parametrize(("message_type", "content"), [
        ("reaction", {"emoji": "👍"}),
        ("location", {"latitude": 1.0}),
        ("image", "a string"),
        ("contacts", {"name": "not a list"}),
    ])
    def test_an_unusable_request_is_refused(self, message_type: str, content: Any) -> None:
        with pytest.raises(InvalidCustomerMessage):
            inbound_message(customer_message(message_type, content), "wamid.X", 1)


class TestSystemMessages:
    def test_a_number_change_names_the_new_number_and_its_bsuid(self) -> None:
        value = changes(posted(customer_message("system")))[0]
        assert "contacts" not in value
        (message,) = value["messages"]
        new = "16505551235"
        assert (message["from"], message["from_user_id"]) == (CUSTOMER, CUSTOMER_ID)
        assert message["system"] == {
            "body": f"User Sheena changed from {CUSTOMER} to {new}", "wa_id": new,
            "user_id": bsuid_for(ONE.waba_id, new), "type": "user_changed_number"}

    def test_the_new_number_can_be_given(self) -> None:
        request = customer_message("system", {"wa_id": "447700900123",
                                              "type": "user_changed_number"})
        (message,) = changes(posted(request))[0]["messages"]
        assert message["system"]["wa_id"] == "447700900123"
        assert message["system"]["user_id"] == bsuid_for(ONE.waba_id, "447700900123")
        assert message["system"]["user_id"].startswith("GB.")

    def test_a_bsuid_change_shows_the_new_bsuid_and_no_number(self) -> None:
        request = customer_message("system", {"type": "user_changed_user_id"})
        (message,) = changes(posted(request))[0]["messages"]
        new_id = bsuid_for(ONE.waba_id, "16505551235")
        assert message["system"] == {
            "body": f"User Sheena changed from {CUSTOMER_ID} to {new_id}",
            "user_id": new_id, "type": "user_changed_user_id"}

    def test_a_bsuid_change_may_name_the_new_bsuid(self) -> None:
        request = customer_message("system", {"type": "user_changed_user_id",
                                              "user_id": "US.1234"})
        (message,) = changes(posted(request))[0]["messages"]
        assert message["system"]["user_id"] == "US.1234"
        assert "wa_id" not in message["system"]

    def test_system_messages_reach_webhook_ingest_and_do_not_open_the_window(self) -> None:
        for kind in ("user_changed_number", "user_changed_user_id"):
            (event,) = ingest(posted(customer_message("system", {"type": kind})))
            assert isinstance(event, MessageReceived)
            assert event.payload.customer is None
            assert event.payload.content["type"] == kind
        assert not opens_window("system")
        assert opens_window("reaction")
        assert opens_window("text")

    def test_other_system_types_pass_through(self) -> None:
        request = customer_message("system", {"type": "customer_identity_changed",
                                              "body": "changed"})
        (message,) = changes(posted(request))[0]["messages"]
        assert message["system"] == {"body": "changed", "type": "customer_identity_changed"}

    def test_the_next_number_is_plausible(self) -> None:
        assert next_number("16505551234") == "16505551235"
        assert next_number("+447700909999") == "447700900000"
        with pytest.raises(InvalidCustomerMessage):
            next_number("someone")
