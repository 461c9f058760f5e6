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
    AccountNoticeReceived,
    AppContactSynced,
    CallUpdated,
    MarketingPreferenceChanged,
    MessageEchoed,
    MessageReceived,
    MessageStatusChanged,
    PhoneNumberQualityChanged,
    TemplateCategoryChanged,
    TemplateComponentsChanged,
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
    assert [e.type for e in events] == ["message.received", "customer.marketing_preference"]  # type: ignore[attr-defined]
    message, stop = events
    assert isinstance(message, MessageReceived)
    assert isinstance(stop, MarketingPreferenceChanged)
    extra = message.payload.extra
    assert extra["group_id"] == "120363025246125244@g.us"
    assert extra["metadata"] == {"phone_number_status": "CONNECTED"}
    assert extra["context"]["quoted_type"] == "image"  # type: ignore[index,call-overload]
    assert extra["contact"]["identity_key_hash"] == "DF2lS5v2W6x="  # type: ignore[index,call-overload]
    assert message.payload.content["preview_url_seen"] is True
    # A marketing stop beside the messages is honoured like one in its own change.
    assert stop.conversation_id == CONVERSATION
    assert (stop.payload.wa_id, stop.payload.value) == (corpus.CUSTOMER, "stop")
    assert stop.payload.extra["metadata"] == {"display_phone_number": "15550783881",
                                              "phone_number_status": "CONNECTED"}
    assert stop.tenant_id == corpus.TENANT


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
    # automatic_events (purchases and leads detected in ad chats) is kept raw on purpose
    # (docs/webhook_kinds.md): the product has no use for it yet, and nothing of it is lost.
    (event,) = events
    assert isinstance(event, WebhookChangeUnhandled)
    assert event.payload.field == "automatic_events"
    assert isinstance(event.payload.value, dict)
    assert event.payload.value["automatic_events"][0]["event_name"] == "Purchase"  # type: ignore[index,call-overload]
    assert event.occurred_at == utc(1750035800)
    assert event.tenant_id == corpus.TENANT


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


# Edits and deletions, echoes, history, calls, preferences, the app's contacts, account notices.
ORIGINAL = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTRBNjU5OUFF"


def _edit(events: list[Event]) -> None:
    p = only_message(events).payload
    assert (p.message_type, p.original_wamid, p.edited_type) == ("edit", ORIGINAL, "text")
    assert p.content == {"body": "Hi, is my order on its way? (order 7741)"}
    assert p.preview == "Hi, is my order on its way? (order 7741)"
    assert (p.history, p.extra) == (False, {})


def _edit_caption(events: list[Event]) -> None:
    p = only_message(events).payload
    assert (p.message_type, p.edited_type) == ("edit", "image")
    assert p.original_wamid == "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzSU1BR0UxAA=="
    assert p.content["id"] == "1003383421387256"
    assert p.preview == "The broken part, from the left"


def _revoke(events: list[Event]) -> None:
    p = only_message(events).payload
    assert (p.message_type, p.original_wamid, p.edited_type) == ("revoke", ORIGINAL, None)
    assert p.preview == "🚫 Deleted a message"
    assert p.from_user_id == "US.13491208655302741918"


def _call_permission_reply(events: list[Event]) -> None:
    p = only_message(events).payload
    assert (p.message_type, p.content["type"]) == ("interactive", "call_permission_reply")
    assert p.content["call_permission_reply"]["response"] == "accept"  # type: ignore[index,call-overload]
    assert p.preview == "📞 Allowed calls"


def echoes(count: int) -> Callable[[list[Event]], list[MessageEchoed]]:
    def check(events: list[Event]) -> list[MessageEchoed]:
        assert len(events) == count
        for event in events:
            assert isinstance(event, MessageEchoed)
            assert event.conversation_id == CONVERSATION
            assert event.tenant_id == corpus.TENANT
            assert event.payload.business_phone_number_id == corpus.PHONE_NUMBER_ID
            assert event.payload.business_display_number == "15550783881"
            assert "from" not in event.payload.extra  # the business's own number
        return [e for e in events if isinstance(e, MessageEchoed)]
    return check


def _echo_text(events: list[Event]) -> None:
    (echo,) = echoes(1)(events)
    p = echo.payload
    # The customer is the echo's ``to`` (Meta writes it with a "+"; the id is canonical).
    assert (p.from_wa_id, p.from_user_id) == ("+16505551234", "US.13491208655302741918")
    assert p.customer is not None
    assert (p.customer.name, p.customer.username, p.customer.parent_user_id) == (
        "Sheena Nelson", "@sheena", "US.ENT.11815799212886844830")
    assert (p.message_type, p.history) == ("text", False)
    assert p.preview.startswith("Here's the info you requested!")
    assert echo.occurred_at == utc(1739321024)


def _echo_edit_and_revoke(events: list[Event]) -> None:
    edit, revoke = echoes(2)(events)
    assert (edit.payload.message_type, edit.payload.edited_type) == ("edit", "text")
    assert edit.payload.original_wamid == "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJFQ0hPMDAwMDAwMDAwMQA="
    assert edit.payload.preview == "Here's the info you asked for"
    assert revoke.payload.message_type == "revoke"
    assert revoke.payload.original_wamid == edit.payload.wamid


def notice(event_name: str, check: Callable[[Any], None] = lambda _: None,
           ) -> Callable[[list[Event]], None]:
    def run(events: list[Event]) -> None:
        notices = [e for e in events if isinstance(e, AccountNoticeReceived)]
        assert len(notices) == 1
        (event,) = notices
        assert event.conversation_id is None  # keyed by tenant
        assert event.tenant_id == corpus.TENANT
        assert event.payload.waba_id == corpus.WABA_ID
        assert event.payload.event == event_name
        check(event)
    return run


def _history_chunk(events: list[Event]) -> None:
    notice("HISTORY_SYNC_PROGRESS", lambda n: _assert_details(
        n, {"phase": 1, "chunk_order": 2, "progress": 55}))(events)
    messages = [e for e in events if not isinstance(e, AccountNoticeReceived)]
    assert [type(e).__name__ for e in messages] == [
        "MessageReceived", "MessageEchoed", "MessageReceived"]
    for event in messages:
        assert isinstance(event, MessageReceived | MessageEchoed)
        assert event.conversation_id == CONVERSATION
        assert event.payload.history is True
        assert event.payload.from_wa_id == corpus.CUSTOMER
    question, answer, media = messages
    assert isinstance(question, MessageReceived)
    assert question.payload.extra == {"history_context": {"status": "READ"}}
    assert isinstance(answer, MessageEchoed)
    assert answer.payload.content == {"body": "Yes, until 2pm."}
    assert answer.payload.extra == {"history_context": {"status": "DELIVERED"}}
    assert isinstance(media, MessageReceived)
    assert (media.payload.message_type, media.payload.preview) == (
        "media_placeholder", "📎 Media (not synced)")


def _assert_details(event: AccountNoticeReceived, expected: dict[str, Any]) -> None:
    for key, value in expected.items():
        assert event.payload.details[key] == value, key
    assert event.payload.business_phone_number_id == corpus.PHONE_NUMBER_ID


def _history_declined(event: Any) -> None:
    p = event.payload
    assert p.business_phone_number_id == corpus.PHONE_NUMBER_ID
    assert p.description == (
        "History sync is turned off by the business from the WhatsApp Business App")
    assert p.details["errors"][0]["code"] == 2593109


def _history_media(events: list[Event]) -> None:
    p = only_message(events).payload
    assert (p.message_type, p.history) == ("image", True)
    assert p.content["id"] == "1252281926133451"
    # The same wamid as the placeholder of history_chunk, yet its own event (not a duplicate).
    placeholder = [e for e in parse("history_chunk") if isinstance(e, MessageReceived)][-1]
    assert placeholder.payload.wamid == p.wamid
    assert placeholder.event_id != events[0].event_id


def _app_state_sync(events: list[Event]) -> None:
    assert all(isinstance(e, AppContactSynced) for e in events)
    added, removed = events
    assert isinstance(added, AppContactSynced)
    assert isinstance(removed, AppContactSynced)
    assert added.conversation_id == f"{corpus.PHONE_NUMBER_ID}:16505551299"
    assert (added.payload.wa_id, added.payload.full_name, added.payload.first_name,
            added.payload.action) == ("16505551299", "Pablo Morales", "Pablo", "add")
    assert added.occurred_at == added.payload.at == utc(1739321024)
    assert (removed.payload.action, removed.payload.full_name) == ("remove", None)


def _user_preferences(events: list[Event]) -> None:
    (event,) = events
    assert isinstance(event, MarketingPreferenceChanged)
    assert event.conversation_id == CONVERSATION
    p = event.payload
    assert (p.wa_id, p.category, p.value) == (corpus.CUSTOMER, "marketing_messages", "stop")
    assert p.detail == "User requested to stop marketing messages"
    assert p.at == event.occurred_at == utc(1731705721)
    assert p.extra["contact"] == {"profile": {"name": "Sheena Nelson"}, "wa_id": corpus.CUSTOMER}


def call(check: Callable[[Any], None]) -> Callable[[list[Event]], None]:
    def run(events: list[Event]) -> None:
        (event,) = events
        assert isinstance(event, CallUpdated)
        assert event.conversation_id == CONVERSATION
        assert event.tenant_id == corpus.TENANT
        assert event.payload.wa_id == corpus.CUSTOMER
        assert event.payload.business_phone_number_id == corpus.PHONE_NUMBER_ID
        assert event.occurred_at == event.payload.at
        check(event.payload)
    return run


def _call_connect(p: Any) -> None:
    assert (p.call_id, p.event, p.direction, p.status) == (
        "wacid.ABGGFjFVU2AfAgo6V-Hc5eCgK5Gh", "connect", "USER_INITIATED", None)
    assert p.user_id == "US.13491208655302741918"
    assert p.extra["session"]["sdp_type"] == "offer"
    assert "to" not in p.extra  # the business's own number


def _call_terminate(p: Any) -> None:
    assert (p.event, p.direction, p.status, p.duration_seconds) == (
        "terminate", "BUSINESS_INITIATED", "FAILED", 0)
    assert (p.started_at, p.ended_at) == (utc(1749196895), utc(1749196999))
    assert [e["code"] for e in p.errors] == [138021]  # the value's errors, about this call
    assert p.extra["biz_opaque_callback_data"] == "TRx334DUDFTI4Mj"


def _call_status(p: Any) -> None:
    assert (p.event, p.status, p.direction) == ("status", "RINGING", "BUSINESS_INITIATED")
    assert p.at == utc(1749196897)


def _account_verified(event: Any) -> None:
    assert event.payload.details == {"phone_number": "15550783881"}
    assert event.occurred_at == event.payload.at == utc(1750035000)


def _account_restriction(event: Any) -> None:
    assert [r["restriction_type"] for r in event.payload.restrictions] == [
        "RESTRICTED_BIZ_INITIATED_MESSAGING", "RESTRICTED_ADD_PHONE_NUMBER_ACTION"]
    assert event.payload.details == {}


def _account_ban(event: Any) -> None:
    assert event.payload.details["ban_info"]["waba_ban_state"] == "SCHEDULE_FOR_DISABLE"


def _account_violation(event: Any) -> None:
    assert event.payload.details == {"violation_info": {"violation_type": "SCAM"}}


def _account_alert(event: Any) -> None:
    p = event.payload
    assert (p.severity, p.status) == ("WARNING", "ACTIVE")
    assert p.description.startswith("Limits cannot be increased yet.")
    assert p.business_phone_number_id == corpus.PHONE_NUMBER_ID
    assert p.details == {"entity_type": "PHONE_NUMBER", "entity_id": corpus.PHONE_NUMBER_ID}


def _capability(event: Any) -> None:
    assert event.payload.details == {"max_daily_conversations_per_business": "TIER_10K",
                                     "max_phone_numbers_per_waba": 25}


def _name_update(event: Any) -> None:
    assert event.payload.details["rejection_reason"] == "NAME_FORMAT_UNACCEPTABLE"


def _components(event: Any) -> None:
    p = event.payload
    assert (p.template_id, p.name, p.language) == ("806312974732579", "order_confirmation",
                                                  "en_US")
    assert p.header == "Your order is confirmed!"
    assert p.body == "Thank you for your order, {{1}}! Your order number is {{2}}."
    assert p.footer == "Lucky Shrub: the Succulent Specialists!"
    assert [b["message_template_button_type"] for b in p.buttons] == ["URL", "PHONE_NUMBER"]
    assert p.extra == {}


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
    "unknown_field_automatic_events": _unknown_field,
    "message_edit": _edit,
    "message_edit_caption": _edit_caption,
    "message_revoke": _revoke,
    "message_call_permission_reply": _call_permission_reply,
    "echo_text": _echo_text,
    "echo_edit_and_revoke": _echo_edit_and_revoke,
    "history_chunk": _history_chunk,
    "history_declined": notice("HISTORY_SHARING_DECLINED", _history_declined),
    "history_media": _history_media,
    "app_state_sync": _app_state_sync,
    "user_preferences": _user_preferences,
    "calls_connect": call(_call_connect),
    "calls_terminate": call(_call_terminate),
    "calls_status": call(_call_status),
    "account_update_verified": notice("VERIFIED_ACCOUNT", _account_verified),
    "account_update_restriction": notice("ACCOUNT_RESTRICTION", _account_restriction),
    "account_update_ban": notice("DISABLED_UPDATE", _account_ban),
    "account_update_violation": notice("ACCOUNT_VIOLATION", _account_violation),
    "account_alerts": notice("INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED", _account_alert),
    "business_capability_update": notice("BUSINESS_CAPABILITY_UPDATE", _capability),
    "phone_number_name_update": notice("REJECTED", _name_update),
    "template_components_update": template(TemplateComponentsChanged, _components),
    "batch_mixed": _batch,
}


# Discriminators the event's type already says: ``state_sync[].type`` "contact" is an
# AppContactSynced, a ``calls`` status's ``type`` "call" is a CallUpdated (any other is kept).
IMPLIED: dict[str, set[str]] = {"app_state_sync": {"contact"}, "calls_status": {"call"}}


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
        published |= IMPLIED.get(name, set())
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
