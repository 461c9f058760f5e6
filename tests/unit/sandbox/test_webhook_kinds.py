"""The payload builders of Meta's webhook kinds beyond messages and statuses: field names and
nesting as Meta's webhook references give them (echoes, history, app state sync, user
preferences, calls, account update / alerts / capability, template components)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from sandbox.account_webhooks import (
    BIZ_INITIATED,
    Restriction,
    Restrictions,
    account_alert,
    account_update,
    business_capability,
)
from sandbox.catalog import TemplateSpec
from sandbox.coexistence import (
    echo_item,
    echo_payload,
    history_declined_payload,
    history_message,
    history_payloads,
    phase_of,
    state_sync_item,
    state_sync_payload,
)
from sandbox.customer_webhooks import (
    MarketingStops,
    call_payload,
    connect_item,
    preference_payload,
    terminate_item,
)
from sandbox.identity import Customer, bsuid_for
from sandbox.template_webhooks import components_webhook
from shared.channels import Channel

CHANNEL = Channel(phone_number_id="100000000000001", display_phone_number="15550001111",
                  waba_id="200000000000001", tenant_id="acme", access_token=SecretStr("t"))
NUMBER = "16505551234"
USER_ID = bsuid_for(CHANNEL.waba_id, NUMBER)
SHEENA = Customer(USER_ID, wa_id=NUMBER, name="Sheena")
HIDDEN = Customer(USER_ID, name="Sheena", username="sheena")
T = 1772366400
METADATA = {"display_phone_number": "15550001111", "phone_number_id": "100000000000001"}


def change(payload: dict[str, Any], field: str) -> dict[str, Any]:
    """The one change of a one-entry payload, checked to be Meta's envelope for ``field``."""
    assert payload["object"] == "whatsapp_business_account"
    [entry] = payload["entry"]
    assert entry["id"] == CHANNEL.waba_id
    [only] = entry["changes"]
    assert only["field"] == field
    value: dict[str, Any] = only["value"]
    return value


def number_level(value: dict[str, Any]) -> None:
    assert value["messaging_product"] == "whatsapp"
    assert value["metadata"] == METADATA


class TestEchoes:
    def test_an_app_message_is_an_echo_to_the_customer(self) -> None:
        item = echo_item(CHANNEL, SHEENA, "wamid.1", T, "text", {"body": "On its way"})
        payload = echo_payload(CHANNEL, SHEENA, item)
        value = change(payload, "smb_message_echoes")
        number_level(value)
        assert "time" not in payload["entry"][0]  # number-level fields carry no entry time
        assert value["contacts"] == [{"profile": {"name": "Sheena"}, "wa_id": NUMBER,
                                      "user_id": USER_ID}]
        assert value["message_echoes"] == [{
            "from": "15550001111", "to": NUMBER, "to_user_id": USER_ID, "id": "wamid.1",
            "timestamp": str(T), "type": "text", "text": {"body": "On its way"}}]

    def test_a_hidden_customer_is_named_by_bsuid_only(self) -> None:
        item = echo_item(CHANNEL, HIDDEN, "wamid.1", T, "text", {"body": "hi"})
        value = change(echo_payload(CHANNEL, HIDDEN, item), "smb_message_echoes")
        assert "to" not in item
        assert item["to_user_id"] == USER_ID
        assert value["contacts"] == [{"profile": {"name": "Sheena", "username": "sheena"},
                                      "user_id": USER_ID}]

    def test_an_edit_and_a_revoke_in_the_app_are_echoes_too(self) -> None:
        edit = echo_item(CHANNEL, SHEENA, "wamid.2", T, "edit", {
            "original_message_id": "wamid.1",
            "message": {"type": "text", "text": {"body": "On its way (tomorrow)"}}})
        revoke = echo_item(CHANNEL, SHEENA, "wamid.3", T, "revoke",
                           {"original_message_id": "wamid.1"})
        assert edit["type"] == "edit"
        assert edit["edit"]["original_message_id"] == "wamid.1"
        assert edit["edit"]["message"]["type"] == "text"
        assert revoke["revoke"] == {"original_message_id": "wamid.1"}


def history(age: timedelta, *, business: bool = False, kind: str = "text",
            content: Any = None, wamid: str = "wamid.h") -> Any:
    return history_message(CHANNEL, NUMBER, wamid=wamid, timestamp=T - int(age.total_seconds()),
                           age=age, from_business=business, kind=kind,
                           content=content or {"body": "hi"},
                           status="READ")


class TestHistory:
    @pytest.mark.parametrize(("age", "phase"), [
        (timedelta(0), 0), (timedelta(hours=23, minutes=59), 0), (timedelta(days=1), 1),
        (timedelta(days=89), 1), (timedelta(days=90), 2), (timedelta(days=179), 2),
        (timedelta(days=180), None)])
    def test_phases_by_age_at_the_sync(self, age: timedelta, phase: int | None) -> None:
        assert phase_of(age) == phase

    def test_a_thread_in_metas_shape(self) -> None:
        theirs = history(timedelta(hours=2), wamid="wamid.c")
        ours = history(timedelta(hours=3), business=True, wamid="wamid.b")
        [payload] = history_payloads(CHANNEL, NUMBER, [theirs, ours], chunk_size=10)
        value = change(payload, "history")
        number_level(value)
        [chunk] = value["history"]
        assert chunk["metadata"] == {"phase": 0, "chunk_order": 1, "progress": 100}
        [thread] = chunk["threads"]
        assert thread["id"] == NUMBER
        assert thread["messages"] == [  # oldest first; only the business's has ``to``
            {"from": "15550001111", "to": NUMBER, "id": "wamid.b", "timestamp": str(T - 10800),
             "type": "text", "text": {"body": "hi"}, "history_context": {"status": "READ"}},
            {"from": NUMBER, "id": "wamid.c", "timestamp": str(T - 7200), "type": "text",
             "text": {"body": "hi"}, "history_context": {"status": "READ"}}]

    def test_chunks_by_phase_with_progress(self) -> None:
        messages = [history(timedelta(hours=h), wamid=f"wamid.{h}") for h in (1, 2, 3)] + [
            history(timedelta(days=d), wamid=f"wamid.d{d}") for d in (10, 100)]
        payloads = history_payloads(CHANNEL, NUMBER, messages, chunk_size=2)
        metadata = [change(p, "history")["history"][0]["metadata"] for p in payloads]
        assert metadata == [{"phase": 0, "chunk_order": 1, "progress": 40},
                            {"phase": 0, "chunk_order": 2, "progress": 60},
                            {"phase": 1, "chunk_order": 1, "progress": 80},
                            {"phase": 2, "chunk_order": 1, "progress": 100}]

    def test_media_is_a_placeholder_and_its_content_follows_within_14_days(self) -> None:
        image = {"mime_type": "image/jpeg", "sha256": "abc", "id": "123", "caption": "box"}
        recent = history(timedelta(days=3), kind="image", content=image, wamid="wamid.new")
        old = history(timedelta(days=20), kind="image", content=image, wamid="wamid.old")
        payloads = history_payloads(CHANNEL, NUMBER, [recent, old], chunk_size=10)
        items = [m for p in payloads[:-1] for m in change(p, "history")["history"][0]["threads"][0]
                 ["messages"]]
        assert {m["type"] for m in items} == {"media_placeholder"}
        assert all("image" not in m for m in items)
        follow_up = change(payloads[-1], "history")
        number_level(follow_up)
        assert follow_up["messages"] == [{"from": NUMBER, "id": "wamid.new",
                                          "timestamp": str(T - 3 * 86400), "type": "image",
                                          "image": image}]

    def test_older_than_180_days_is_not_synced(self) -> None:
        assert history(timedelta(days=181)) is None

    def test_declined_sharing_is_metas_error(self) -> None:
        value = change(history_declined_payload(CHANNEL), "history")
        [error] = value["history"][0]["errors"]
        assert error["code"] == 2593109
        assert set(error) == {"code", "title", "message", "error_data"}
        assert "details" in error["error_data"]


class TestAppStateSync:
    def test_contacts_added_and_removed(self) -> None:
        added = state_sync_item(NUMBER, "add", T, full_name="Pablo Morales", first_name="Pablo")
        removed = state_sync_item("16505550000", "remove", T, full_name="Gone")
        value = change(state_sync_payload(CHANNEL, [added, removed]), "smb_app_state_sync")
        number_level(value)
        assert value["state_sync"] == [
            {"type": "contact", "contact": {"full_name": "Pablo Morales", "first_name": "Pablo",
                                            "phone_number": NUMBER},
             "action": "add", "metadata": {"timestamp": str(T)}},
            {"type": "contact", "contact": {"phone_number": "16505550000"},
             "action": "remove", "metadata": {"timestamp": str(T)}}]


class TestUserPreferences:
    @pytest.mark.parametrize("choice", ["stop", "resume"])
    def test_a_marketing_preference(self, choice: str) -> None:
        value = change(preference_payload(CHANNEL, SHEENA, choice, T), "user_preferences")
        number_level(value)
        assert value["contacts"] == [{"profile": {"name": "Sheena"}, "wa_id": NUMBER,
                                      "user_id": USER_ID}]
        [item] = value["user_preferences"]
        assert item == {"wa_id": NUMBER, "user_id": USER_ID,
                        "detail": f"User requested to {choice} marketing messages",
                        "category": "marketing_messages", "value": choice, "timestamp": T}
        assert isinstance(item["timestamp"], int)  # an integer, as in Meta's example

    def test_stops_are_per_number_and_customer(self) -> None:
        stops = MarketingStops()
        stops.set("n1", {NUMBER, USER_ID}, "stop")
        assert stops.stopped("n1", NUMBER)
        assert stops.stopped("n1", USER_ID)
        assert not stops.stopped("n2", NUMBER)
        stops.set("n1", {NUMBER, USER_ID}, "resume")
        assert not stops
        assert not stops.stopped("n1", NUMBER)


class TestCalls:
    def test_a_user_initiated_call_connects_with_an_offer(self) -> None:
        value = change(call_payload(CHANNEL, SHEENA, connect_item(CHANNEL, SHEENA, "wacid.1", T)),
                       "calls")
        number_level(value)
        assert value["contacts"] == [SHEENA.contact()]
        [call] = value["calls"]
        assert call["session"]["sdp_type"] == "offer"
        assert call["session"]["sdp"].startswith("v=0")
        assert {k: v for k, v in call.items() if k != "session"} == {
            "id": "wacid.1", "from": NUMBER, "from_user_id": USER_ID, "to": "15550001111",
            "event": "connect", "timestamp": str(T), "direction": "USER_INITIATED"}

    def test_an_answered_call_terminates_completed_with_its_duration(self) -> None:
        item = terminate_item(CHANNEL, SHEENA, "wacid.1", T, answered_at=T - 90)
        assert item == {"id": "wacid.1", "from": NUMBER, "from_user_id": USER_ID,
                        "to": "15550001111", "event": "terminate",
                        "direction": "USER_INITIATED", "timestamp": str(T),
                        "status": "COMPLETED", "start_time": str(T - 90), "end_time": str(T),
                        "duration": 90}

    def test_a_missed_call_fails_without_times(self) -> None:
        item = terminate_item(CHANNEL, HIDDEN, "wacid.1", T, answered_at=None)
        assert item["status"] == "FAILED"
        assert not {"start_time", "end_time", "duration", "from"} & set(item)


class TestAccount:
    def test_a_restriction_with_its_expiration(self) -> None:
        payload = account_update(CHANNEL.waba_id, "ACCOUNT_RESTRICTION", T,
                                 restrictions=[Restriction(BIZ_INITIATED, T + 86400)])
        assert payload["entry"][0]["time"] == T
        value = change(payload, "account_update")
        assert value == {"event": "ACCOUNT_RESTRICTION", "restriction_info": [
            {"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": T + 86400}]}

    def test_other_events_carry_their_fields_verbatim(self) -> None:
        value = change(account_update(CHANNEL.waba_id, "ACCOUNT_VIOLATION", T,
                                      details={"violation_info": {"violation_type": "ADULT"}}),
                       "account_update")
        assert value == {"event": "ACCOUNT_VIOLATION",
                         "violation_info": {"violation_type": "ADULT"}}

    def test_an_alert(self) -> None:
        payload = account_alert(CHANNEL.waba_id, T, entity_type="PHONE_NUMBER",
                                entity_id=CHANNEL.phone_number_id, severity="CRITICAL",
                                status="ACTIVE", alert_type="OBA_REJECTED", description="No.")
        assert payload["entry"][0]["time"] == T
        assert change(payload, "account_alerts") == {
            "entity_type": "PHONE_NUMBER", "entity_id": CHANNEL.phone_number_id,
            "alert_info": {"alert_severity": "CRITICAL", "alert_status": "ACTIVE",
                           "alert_type": "OBA_REJECTED", "alert_description": "No."}}

    def test_a_capability_update(self) -> None:
        caps = {"max_daily_conversations_per_business": 2000, "max_phone_numbers_per_waba": 25}
        payload = business_capability(CHANNEL.waba_id, T, caps)
        assert payload["entry"][0]["time"] == T
        assert change(payload, "business_capability_update") == caps

    def test_restrictions_hold_until_they_expire_or_are_lifted(self) -> None:
        book = Restrictions()
        book.restrict("w", [Restriction(BIZ_INITIATED, T + 60)])
        before = datetime.fromtimestamp(T + 59, UTC)
        assert book.active("w", before) == {BIZ_INITIATED: T + 60}
        assert book.active("w", datetime.fromtimestamp(T + 60, UTC)) == {}
        assert book.listing(before)["w"][0]["restriction_type"] == BIZ_INITIATED
        book.lift("w")
        assert not book
        assert book.active("w", before) == {}


class TestTemplateComponents:
    def test_body_header_footer_and_link_buttons(self) -> None:
        spec = TemplateSpec(name="order_confirmation", template_id="1315502779341834",
                            components=[
            {"type": "HEADER", "format": "TEXT", "text": "Your order is confirmed!"},
            {"type": "BODY", "text": "Thank you, {{1}}! Order {{2}}."},
            {"type": "FOOTER", "text": "Lucky Shrub"},
            {"type": "BUTTONS", "buttons": [
                {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+15550783881"},
                {"type": "URL", "text": "Support", "url": "https://example.com/support"}]}])
        payload = components_webhook(CHANNEL.waba_id, spec, T)
        assert payload["entry"][0]["time"] == T
        assert change(payload, "message_template_components_update") == {
            "message_template_id": 1315502779341834,
            "message_template_name": "order_confirmation",
            "message_template_language": "en_US",
            "message_template_title": "Your order is confirmed!",
            "message_template_element": "Thank you, {{1}}! Order {{2}}.",
            "message_template_footer": "Lucky Shrub",
            "message_template_buttons": [
                {"message_template_button_type": "PHONE_NUMBER",
                 "message_template_button_text": "Call us",
                 "message_template_button_phone_number": "+15550783881"},
                {"message_template_button_type": "URL",
                 "message_template_button_text": "Support",
                 "message_template_button_url": "https://example.com/support"}]}

    def test_a_body_alone_has_no_optional_fields(self) -> None:
        spec = TemplateSpec(name="hello", template_id="7", body_text="Hello!", components=[
            {"type": "BODY", "text": "Hello!"},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Yes"}]}])
        value = change(components_webhook(CHANNEL.waba_id, spec, T),
                       "message_template_components_update")
        assert value == {"message_template_id": 7, "message_template_name": "hello",
                         "message_template_language": "en_US",
                         "message_template_element": "Hello!"}
