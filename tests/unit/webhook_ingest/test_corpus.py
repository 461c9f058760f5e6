"""The parser over the whole payload corpus: right events, right fields, nothing lost."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from services.webhook_ingest.normalize import normalize
from services.webhook_ingest.payload import parse_webhook
from shared.channels import UNASSIGNED_TENANT
from shared.events import (
    INBOUND_EVENTS,
    MessageReceived,
    MessageStatusChanged,
    PhoneNumberQualityChanged,
    TemplateCategoryChanged,
    TemplateQualityChanged,
    TemplateStatusChanged,
    WebhookChangeUnhandled,
    WebhookErrorsReported,
    dump,
)
from shared.events.base import Event
from tests.unit.webhook_ingest import corpus
from tests.unit.webhook_ingest.corpus import parse

CONVERSATION = f"{corpus.PHONE_NUMBER_ID}:{corpus.CUSTOMER}"


def only_message(events: list[Event]) -> MessageReceived:
    assert len(events) == 1
    event = events[0]
    assert isinstance(event, MessageReceived)
    assert event.conversation_id == CONVERSATION
    assert event.tenant_id == corpus.TENANT
    assert event.payload.business_phone_number_id == corpus.PHONE_NUMBER_ID
    assert event.payload.business_display_number == "15550783881"
    return event


def only_status(events: list[Event]) -> MessageStatusChanged:
    assert len(events) == 1
    event = events[0]
    assert isinstance(event, MessageStatusChanged)
    assert event.tenant_id == corpus.TENANT
    return event


def utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


# One expectation per fixture; test_every_fixture_has_an_expectation keeps the table complete.
def _text(events: list[Event]) -> None:
    event = only_message(events)
    p = event.payload
    assert (p.message_type, p.preview, p.content) == (
        "text", "Hi, is my order on its way?", {"body": "Hi, is my order on its way?"})
    assert p.sent_at == event.occurred_at == utc(1749416383)
    assert p.customer is not None
    assert (p.customer.wa_id, p.customer.name) == (corpus.CUSTOMER, "Sheena Nelson")
    assert p.from_wa_id == corpus.CUSTOMER
    assert p.context is None
    assert p.referral is None
    assert p.errors == []
    assert p.extra == {}


def _text_reply(events: list[Event]) -> None:
    p = only_message(events).payload
    assert p.context is not None
    assert p.context.message_id == "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJCMDA5RjBBQjU3RkU4QzZCNgA"
    assert p.context.from_number == "15550783881"
    assert not p.context.forwarded
    assert not p.context.frequently_forwarded


def _forwarded(events: list[Event]) -> None:
    p = only_message(events).payload
    assert p.context is not None
    assert (p.context.forwarded, p.context.frequently_forwarded) == (True, False)
    assert p.context.message_id is None


def _frequently_forwarded(events: list[Event]) -> None:
    p = only_message(events).payload
    assert p.context is not None
    assert (p.context.forwarded, p.context.frequently_forwarded) == (False, True)


def _product_inquiry(events: list[Event]) -> None:
    p = only_message(events).payload
    assert p.context is not None
    assert p.context.referred_product == {
        "catalog_id": "194836987003835", "product_retailer_id": "di9ozbzfi4"}


def media(kind: str, preview: str) -> Callable[[list[Event]], None]:
    def check(events: list[Event]) -> None:
        p = only_message(events).payload
        assert p.message_type == kind
        assert p.preview == preview
        assert p.content["id"]
        assert p.content["mime_type"]
        assert p.content["sha256"]
    return check


def _image(events: list[Event]) -> None:
    media("image", "The broken part")(events)
    content = only_message(events).payload.content
    assert str(content["url"]).startswith("https://lookaside.fbsbx.com/")


def _voice(events: list[Event]) -> None:
    media("audio", "🎤 Voice message")(events)
    assert only_message(events).payload.content["voice"] is True


def _location(events: list[Event]) -> None:
    p = only_message(events).payload
    assert p.preview == "📍 Meta Headquarters"
    assert (p.content["latitude"], p.content["longitude"]) == (37.483307, -122.148981)


def _contacts(events: list[Event]) -> None:
    p = only_message(events).payload
    assert p.preview == "👤 Barbara J. Johnson"
    shared_contacts = p.content["contacts"]
    assert isinstance(shared_contacts, list)
    assert len(shared_contacts) == 1
    assert shared_contacts[0]["phones"][0]["wa_id"] == "16505551235"  # type: ignore[index,call-overload]


def interactive(kind: str, reply_id: str, preview: str) -> Callable[[list[Event]], None]:
    def check(events: list[Event]) -> None:
        p = only_message(events).payload
        assert p.message_type == "interactive"
        assert p.content["type"] == kind
        assert p.content[kind]["id"] == reply_id  # type: ignore[index,call-overload]
        assert p.preview == preview
        assert p.context is not None
        assert p.context.from_number == "15550783881"
    return check


def _nfm_reply(events: list[Event]) -> None:
    p = only_message(events).payload
    assert p.content["type"] == "nfm_reply"
    assert "flow_token" in str(p.content["nfm_reply"])
    assert p.preview == "Sent"


def _button(events: list[Event]) -> None:
    p = only_message(events).payload
    assert p.content == {"payload": "STOP_PROMOTIONS", "text": "Stop promotions"}
    assert p.preview == "Stop promotions"
    assert p.context is not None
    assert p.context.message_id is not None


def _reaction(events: list[Event]) -> None:
    event = only_message(events)
    assert event.payload.content["emoji"] == "👍"
    assert event.payload.preview == "Reacted 👍"
    assert event.occurred_at == utc(1749416390)  # the reaction's time, not the message's


def _reaction_removed(events: list[Event]) -> None:
    p = only_message(events).payload
    assert "emoji" not in p.content
    assert p.content["message_id"] == "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"
    assert p.preview == "Removed a reaction"


def _order(events: list[Event]) -> None:
    p = only_message(events).payload
    assert p.preview == "🛒 Order (2 items): Please deliver after 5pm"
    assert len(p.content["product_items"]) == 2  # type: ignore[arg-type]


def _system(events: list[Event]) -> None:
    p = only_message(events).payload
    assert p.content["type"] == "user_changed_number"
    assert p.content["wa_id"] == "16505551299"
    assert p.customer is None  # system messages carry no contacts


def _referral(events: list[Event]) -> None:
    p = only_message(events).payload
    assert p.referral is not None
    assert p.referral["source_type"] == "ad"
    assert p.referral["welcome_message"] == {
        "text": "Hi! Thanks for your interest in our summer sale."}
    assert str(p.referral["ctwa_clid"]).startswith("Aff-")


def _unsupported(events: list[Event]) -> None:
    p = only_message(events).payload
    assert p.message_type == "unsupported"
    assert p.content == {"type": "edit"}
    assert [(e.code, e.title, e.details) for e in p.errors] == [
        (131051, "Message type unknown", "Message type is currently not supported.")]
    assert p.preview == "Unsupported message (edit)"


def _unknown_legacy(events: list[Event]) -> None:
    p = only_message(events).payload
    assert p.message_type == "unknown"
    assert p.content == {}
    assert [e.code for e in p.errors] == [131060]


def _request_welcome(events: list[Event]) -> None:
    p = only_message(events).payload
    assert (p.message_type, p.content, p.preview) == ("request_welcome", {}, "Opened the chat")


def _new_fields(events: list[Event]) -> None:
    assert [e.type for e in events] == ["message.received", "webhook.unhandled"]  # type: ignore[attr-defined]
    message, rest = events
    assert isinstance(message, MessageReceived)
    assert isinstance(rest, WebhookChangeUnhandled)
    extra = message.payload.extra
    assert extra["group_id"] == "120363025246125244@g.us"
    assert extra["metadata"] == {"phone_number_status": "CONNECTED"}
    assert extra["context"]["quoted_type"] == "image"  # type: ignore[index,call-overload]
    assert extra["contact"]["identity_key_hash"] == "DF2lS5v2W6x="  # type: ignore[index,call-overload]
    assert message.payload.content["preview_url_seen"] is True
    # A value-level key we do not know (user_preferences) is kept whole, with its number.
    assert rest.payload.field == "messages"
    assert isinstance(rest.payload.value, dict)
    assert rest.payload.value["user_preferences"][0]["value"] == "stop"  # type: ignore[index,call-overload]
    assert rest.tenant_id == corpus.TENANT


def status(name: str, at: int) -> Callable[[list[Event]], None]:
    def check(events: list[Event]) -> None:
        event = only_status(events)
        p = event.payload
        assert p.status == name
        assert p.at == event.occurred_at == utc(at)
        assert p.recipient_wa_id == corpus.CUSTOMER
        assert event.conversation_id == CONVERSATION
        assert p.wamid.startswith("wamid.")
    return check


def _sent(events: list[Event]) -> None:
    status("sent", 1750030073)(events)
    p = only_status(events).payload
    assert p.biz_opaque_callback_data == "campaign-42:contact-7"
    assert p.pricing == {"billable": True, "pricing_model": "PMP", "type": "regular",
                         "category": "marketing"}
    assert p.conversation is not None
    assert p.conversation["origin"] == {"type": "marketing"}


def _failed(events: list[Event]) -> None:
    status("failed", 1750030130)(events)
    (error,) = only_status(events).payload.errors
    assert error.code == 131049
    assert error.details is not None
    assert error.details.startswith("In order to maintain")
    assert error.href == "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"


def _group_status(events: list[Event]) -> None:
    event = only_status(events)
    assert event.conversation_id == f"{corpus.PHONE_NUMBER_ID}:120363025246125244"
    assert event.payload.extra == {"recipient_type": "group",
                                   "recipient_participant_id": "16505551240",
                                   "metadata": {"display_phone_number": "15550783881"}}


def template(kind: type[Event], check: Callable[[Any], None]) -> Callable[[list[Event]], None]:
    def run(events: list[Event]) -> None:
        assert len(events) == 1
        event = events[0]
        assert isinstance(event, kind)
        assert event.conversation_id is None
        assert event.tenant_id == corpus.TENANT
        assert event.payload.waba_id == corpus.WABA_ID  # type: ignore[attr-defined]
        check(event)
    return run


def _approved(event: Any) -> None:
    p = event.payload
    assert (p.template_id, p.name, p.language, p.event, p.reason, p.category) == (
        "806312974732579", "order_confirmation", "en_US", "APPROVED", "NONE", "UTILITY")
    assert event.occurred_at == utc(1750031000)
    assert p.extra == {}


def _rejected(event: Any) -> None:
    assert event.payload.event == "REJECTED"
    assert event.payload.reason == "INCORRECT_CATEGORY"
    assert event.payload.extra["rejection_info"]["recommendation"].startswith("Resubmit")


def _paused(event: Any) -> None:
    assert (event.payload.event, event.payload.reason) == ("PAUSED", None)
    assert event.payload.extra["other_info"]["title"] == "FIRST_PAUSE"


def _disabled(event: Any) -> None:
    assert event.payload.extra == {"disable_info": {"disable_date": "1750636000"}}


def _quality(event: Any) -> None:
    p = event.payload
    assert (p.previous_score, p.new_score, p.name) == ("GREEN", "YELLOW", "order_confirmation")


def _category(event: Any) -> None:
    p = event.payload
    assert (p.previous_category, p.new_category, p.language) == ("UTILITY", "MARKETING", "pt_BR")


def _number_quality(event: Any) -> None:
    p = event.payload
    assert (p.event, p.current_limit, p.display_phone_number) == (
        "THROUGHPUT_UPGRADE", "TIER_UNLIMITED", "15550783881")
    assert p.extra == {"max_daily_conversation_per_phone_number": 100000}


def _value_errors(events: list[Event]) -> None:
    (event,) = events
    assert isinstance(event, WebhookErrorsReported)
    assert event.payload.business_phone_number_id == corpus.PHONE_NUMBER_ID
    assert [e.code for e in event.payload.errors] == [131000]
    assert event.tenant_id == corpus.TENANT


def _unknown_field(events: list[Event]) -> None:
    (event,) = events
    assert isinstance(event, WebhookChangeUnhandled)
    assert event.payload.field == "account_update"
    assert event.payload.value == {"phone_number": "15550783881", "event": "VERIFIED_ACCOUNT"}
    assert event.occurred_at == utc(1750035000)


def _batch(events: list[Event]) -> None:
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["MessageReceived", "MessageReceived", "MessageStatusChanged",
                     "TemplateQualityChanged"]
    _first, brazil, delivered, quality = events
    assert isinstance(brazil, MessageReceived)
    # Brazil's number without its 9th digit: canonical conversation, profile still matched.
    assert brazil.conversation_id == f"{corpus.PHONE_NUMBER_ID}:5511987654321"
    assert brazil.payload.from_wa_id == "551187654321"
    assert brazil.payload.customer is not None
    assert brazil.payload.customer.name == "Alex"
    assert delivered.conversation_id == CONVERSATION
    # The second entry's WABA has no channel: still published, marked unassigned.
    assert quality.tenant_id == UNASSIGNED_TENANT
    assert quality.payload.waba_id == "209876543210987"  # type: ignore[attr-defined]


EXPECTATIONS: dict[str, Callable[[list[Event]], None]] = {
    "message_text": _text,
    "message_text_reply": _text_reply,
    "message_text_forwarded": _forwarded,
    "message_text_frequently_forwarded": _frequently_forwarded,
    "message_product_inquiry": _product_inquiry,
    "message_image": _image,
    "message_audio": media("audio", "🎵 Audio"),
    "message_voice": _voice,
    "message_video": media("video", "Unboxing"),
    "message_document": media("document", "📄 Invoice for March"),
    "message_sticker": media("sticker", "💟 Sticker"),
    "message_location": _location,
    "message_contacts": _contacts,
    "message_interactive_button_reply": interactive("button_reply", "confirm-yes", "Yes, confirm"),
    "message_interactive_list_reply": interactive("list_reply", "slot-0930", "9:30 AM"),
    "message_interactive_nfm_reply": _nfm_reply,
    "message_button": _button,
    "message_reaction": _reaction,
    "message_reaction_removed": _reaction_removed,
    "message_order": _order,
    "message_system": _system,
    "message_referral": _referral,
    "message_unsupported": _unsupported,
    "message_unknown_legacy": _unknown_legacy,
    "message_request_welcome": _request_welcome,
    "message_with_new_fields": _new_fields,
    "status_sent": _sent,
    "status_delivered": status("delivered", 1750030075),
    "status_read": status("read", 1750030090),
    "status_played": status("played", 1750030120),
    "status_failed": _failed,
    "status_unknown_value": status("deleted", 1750030140),
    "status_group": _group_status,
    "template_status_approved": template(TemplateStatusChanged, _approved),
    "template_status_rejected": template(TemplateStatusChanged, _rejected),
    "template_status_paused": template(TemplateStatusChanged, _paused),
    "template_status_disabled": template(TemplateStatusChanged, _disabled),
    "template_quality_update": template(TemplateQualityChanged, _quality),
    "template_category_update": template(TemplateCategoryChanged, _category),
    "phone_number_quality_update": template(PhoneNumberQualityChanged, _number_quality),
    "value_errors": _value_errors,
    "unknown_field_account_update": _unknown_field,
    "batch_mixed": _batch,
}


def test_every_fixture_has_an_expectation() -> None:
    assert sorted(EXPECTATIONS) == corpus.fixture_names()


@pytest.mark.parametrize("name", corpus.fixture_names())
class TestCorpus:
    def test_parses_into_the_expected_events(self, name: str) -> None:
        EXPECTATIONS[name](parse(name))

    def test_loses_no_field(self, name: str) -> None:
        events = parse(name)
        published = set().union(*(_leaves(dump(e)) for e in events))
        if name == "value_errors":
            # WebhookErrors names the number by id only; its display form is the channel's.
            published.add("15550783881")
        for value in _change_values(corpus.load(name)):
            missing = _leaves(value) - published
            assert not missing, f"{name}: values not carried by any event: {missing}"

    def test_events_round_trip_through_the_topic_contract(self, name: str) -> None:
        for event in parse(name):
            assert INBOUND_EVENTS.validate_json(event.to_bytes()) == event

    def test_event_ids_are_the_same_when_parsed_again(self, name: str) -> None:
        first = [e.event_id for e in parse(name)]
        payload = parse_webhook(corpus.body(name))
        later = normalize(payload, corpus.directory(), datetime(2030, 1, 1, tzinfo=UTC))
        assert [e.event_id for e in later.events] == first
        assert len(set(first)) == len(first)


def _change_values(payload: dict[str, Any]) -> list[Any]:
    values = []
    for entry in payload["entry"]:
        for change in entry["changes"]:
            value = dict(change["value"])
            value.pop("messaging_product", None)  # always "whatsapp"
            values.append(value)
            if "time" in entry:
                values.append(entry["time"])
    return values


def _leaves(obj: Any) -> set[str]:
    """Every scalar in ``obj`` as text; datetimes also as Meta's epoch seconds."""
    if isinstance(obj, dict):
        return set().union(*(_leaves(v) for v in obj.values()))
    if isinstance(obj, list):
        return set().union(*(_leaves(v) for v in obj))
    if obj is None:
        return set()
    text = str(obj)
    out = {text}
    if isinstance(obj, str) and "T" in text:
        try:
            out.add(str(int(datetime.fromisoformat(text).timestamp())))
        except ValueError:
            pass
    return out
