"""The parser's edges: deterministic ids, tenants, and isolation of what it cannot read."""

from __future__ import annotations

import copy
from typing import Any

from services.webhook_ingest.normalize import normalize
from services.webhook_ingest.payload import parse_webhook
from shared import callback_data
from shared.channels import UNASSIGNED_TENANT, ChannelDirectory
from shared.events import (
    INBOUND_EVENTS,
    MessageReceived,
    MessageStatusChanged,
    WebhookChangeUnhandled,
)
from tests.unit.webhook_ingest import corpus
from tests.unit.webhook_ingest.corpus import parse

CONVERSATION = f"{corpus.PHONE_NUMBER_ID}:{corpus.CUSTOMER}"


class TestIds:
    def test_a_message_keeps_its_id_in_another_body(self) -> None:
        # Meta may deliver one message inside different batches: the wamid names the event.
        alone = parse("message_text")[0]
        payload = corpus.load("message_text")
        value = payload["entry"][0]["changes"][0]["value"]
        value["messages"].insert(0, {**value["messages"][0], "id": "wamid.other"})
        batched = normalize(payload, corpus.directory(), corpus.RECEIVED_AT).events
        assert batched[1].event_id == alone.event_id
        assert batched[0].event_id != alone.event_id

    def test_each_status_of_a_message_has_its_own_id(self) -> None:
        ids = {parse(n)[0].event_id for n in ("status_sent", "status_delivered", "status_read")}
        assert len(ids) == 3

    def test_a_template_returning_to_a_status_later_is_a_new_event(self) -> None:
        payload = corpus.load("template_status_approved")
        first = normalize(payload, corpus.directory(), corpus.RECEIVED_AT).events[0]
        payload["entry"][0]["time"] += 3600
        again = normalize(payload, corpus.directory(), corpus.RECEIVED_AT).events[0]
        assert first.event_id != again.event_id

    def test_a_salt_gives_new_deterministic_ids(self) -> None:
        payload = parse_webhook(corpus.body("batch_mixed"))
        plain = normalize(payload, corpus.directory(), corpus.RECEIVED_AT).events
        salted = normalize(payload, corpus.directory(), corpus.RECEIVED_AT, salt="fix-1").events
        again = normalize(payload, corpus.directory(), corpus.RECEIVED_AT, salt="fix-1").events
        assert {e.event_id for e in plain}.isdisjoint({e.event_id for e in salted})
        assert [e.event_id for e in salted] == [e.event_id for e in again]


class TestTenants:
    def test_an_unknown_number_is_published_unassigned_and_reported(self) -> None:
        result = normalize(parse_webhook(corpus.body("message_text")), ChannelDirectory(),
                           corpus.RECEIVED_AT)
        (event,) = result.events
        assert event.tenant_id == UNASSIGNED_TENANT
        assert event.conversation_id == CONVERSATION
        assert result.unassigned == {("number", corpus.PHONE_NUMBER_ID)}

    def test_template_updates_take_the_tenant_of_their_account(self) -> None:
        result = normalize(parse_webhook(corpus.body("template_quality_update")),
                           corpus.directory(), corpus.RECEIVED_AT)
        assert result.events[0].tenant_id == corpus.TENANT
        assert result.unassigned == set()


def messages_payload(*messages: Any, **value: Any) -> dict[str, Any]:
    payload = corpus.load("message_text")
    change_value = payload["entry"][0]["changes"][0]["value"]
    change_value["messages"] = list(messages)
    change_value.update(value)
    return payload


class TestIsolation:
    def test_an_unusable_message_is_kept_alone_and_its_siblings_parse(self) -> None:
        good = corpus.load("message_text")["entry"][0]["changes"][0]["value"]["messages"][0]
        broken = {"from": corpus.CUSTOMER, "type": "text", "text": {"body": "no id"}}
        result = normalize(messages_payload(broken, good), corpus.directory(), corpus.RECEIVED_AT)
        unhandled, message = result.events
        assert isinstance(message, MessageReceived)
        assert isinstance(unhandled, WebhookChangeUnhandled)
        kept = unhandled.payload.value
        assert isinstance(kept, dict)
        assert "'id'" in str(kept["parse_error"])
        assert kept["value"]["messages"] == [broken]  # type: ignore[index,call-overload]
        assert unhandled.tenant_id == corpus.TENANT
        assert result.failures == []  # a shape problem, not a parser bug

    def test_a_status_with_a_bad_timestamp_is_kept_as_unhandled(self) -> None:
        payload = corpus.load("status_read")
        payload["entry"][0]["changes"][0]["value"]["statuses"][0]["timestamp"] = "soon"
        (event,) = normalize(payload, corpus.directory(), corpus.RECEIVED_AT).events
        assert isinstance(event, WebhookChangeUnhandled)
        assert "soon" in str(event.payload.value)

    def test_a_change_that_breaks_the_parser_is_kept_whole_and_reported(self) -> None:
        payload = corpus.load("template_status_approved")
        del payload["entry"][0]["changes"][0]["value"]["message_template_name"]
        result = normalize(payload, corpus.directory(), corpus.RECEIVED_AT)
        (event,) = result.events
        assert isinstance(event, WebhookChangeUnhandled)
        assert event.payload.field == "message_template_status_update"
        assert event.payload.value["value"]["event"] == "APPROVED"  # type: ignore[index,call-overload]
        assert result.failures == ["message_template_status_update"]

    def test_messages_without_metadata_are_kept_whole(self) -> None:
        payload = corpus.load("message_text")
        del payload["entry"][0]["changes"][0]["value"]["metadata"]
        result = normalize(payload, corpus.directory(), corpus.RECEIVED_AT)
        (event,) = result.events
        assert isinstance(event, WebhookChangeUnhandled)
        assert event.tenant_id == corpus.TENANT  # from the WABA

    def test_odd_entries_and_changes_are_kept(self) -> None:
        payload = {"object": "whatsapp_business_account", "entry": [
            "not an entry",
            {"id": corpus.WABA_ID, "new_entry_key": 1, "changes": [
                {"value": {"no": "field"}},
                {"field": "messages", "value": "not an object"},
            ]},
        ]}
        events = normalize(payload, corpus.directory(), corpus.RECEIVED_AT).events
        kept = [(e.payload.field, e.payload.value) for e in events
                if isinstance(e, WebhookChangeUnhandled)]
        assert kept == [
            ("entry", "not an entry"),
            ("entry", {"new_entry_key": 1}),
            ("change", {"value": {"no": "field"}}),
            ("messages", "not an object"),
        ]

    def test_error_fields_we_do_not_map_stay_in_extra(self) -> None:
        payload = corpus.load("status_failed")
        status = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
        status["errors"][0]["error_user_msg"] = "new"
        (event,) = normalize(payload, corpus.directory(), corpus.RECEIVED_AT).events
        assert isinstance(event, MessageStatusChanged)
        assert event.payload.errors[0].code == 131049
        assert event.payload.extra["errors"] == status["errors"]

    def test_the_input_payload_is_not_modified(self) -> None:
        payload = corpus.load("batch_mixed")
        before = copy.deepcopy(payload)
        normalize(payload, corpus.directory(), corpus.RECEIVED_AT)
        assert payload == before


class TestEventIdScheme:
    def test_ids_are_standard_uuid5_in_the_fixed_namespace(self) -> None:
        # Other tools may recompute ids (e.g. to find an event): the scheme is plain uuid5.
        from uuid import uuid5

        from services.webhook_ingest.ids import NAMESPACE, named_id

        assert named_id("status", "wamid.X", "read") == uuid5(NAMESPACE, "|status|wamid.X|read")
        assert named_id("message", "wamid.X", salt="s") == uuid5(NAMESPACE, "s|message|wamid.X")


class TestCallbackData:
    """``biz_opaque_callback_data`` is kept verbatim and read with the shared codec."""

    @staticmethod
    def status_with(callback: object) -> MessageStatusChanged:
        payload = corpus.load("status_sent")
        item = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
        item.pop("biz_opaque_callback_data", None)
        if callback is not None:
            item["biz_opaque_callback_data"] = callback
        (event,) = normalize(payload, corpus.directory(), corpus.RECEIVED_AT).events
        assert isinstance(event, MessageStatusChanged)
        return event

    def test_our_senders_value_names_the_command_and_the_reference(self) -> None:
        raw = callback_data.encode("cmd-7", "campaign:42")
        p = self.status_with(raw).payload
        assert (p.command_id, p.reference) == ("cmd-7", "campaign:42")
        assert p.biz_opaque_callback_data == raw  # the echo itself, for subscribers
        assert "biz_opaque_callback_data" not in p.extra

    def test_a_value_from_another_system_is_all_reference(self) -> None:
        p = self.status_with("order-9:line-2").payload
        assert (p.command_id, p.reference) == (None, "order-9:line-2")
        assert p.biz_opaque_callback_data == "order-9:line-2"

    def test_no_value_names_nothing(self) -> None:
        p = self.status_with(None).payload
        assert (p.command_id, p.reference, p.biz_opaque_callback_data) == (None, None, None)

    def test_the_decoded_fields_travel_on_the_topic(self) -> None:
        event = self.status_with(callback_data.encode("cmd-7", None))
        again = INBOUND_EVENTS.validate_json(event.to_bytes())
        assert isinstance(again, MessageStatusChanged)
        assert (again.payload.command_id, again.payload.reference) == ("cmd-7", None)


class TestStatusRecipients:
    """Meta's 2026 statuses come with a ``contacts`` array about their recipients (BSUID,
    username on delivered/read): read, never an unhandled change."""

    def payload(self, contacts: list[dict[str, Any]]) -> dict[str, Any]:
        payload = corpus.load("status_delivered")
        value = payload["entry"][0]["changes"][0]["value"]
        value["statuses"][0]["recipient_user_id"] = "US.13491208655302741918"
        value["contacts"] = contacts
        return payload

    def test_each_status_keeps_its_recipients_contact(self) -> None:
        contact = {"profile": {"username": "@sheena"}, "wa_id": corpus.CUSTOMER,
                   "user_id": "US.13491208655302741918"}
        other = {"wa_id": "16505550000", "user_id": "US.1"}
        (event,) = normalize(self.payload([other, contact]), corpus.directory(),
                             corpus.RECEIVED_AT).events
        assert isinstance(event, MessageStatusChanged)
        assert event.payload.extra["contact"] == contact

    def test_contacts_about_someone_else_are_read_and_not_attached(self) -> None:
        (event,) = normalize(self.payload([{"wa_id": "16505550000", "user_id": "US.1"}]),
                             corpus.directory(), corpus.RECEIVED_AT).events
        assert isinstance(event, MessageStatusChanged)
        assert "contact" not in event.payload.extra
