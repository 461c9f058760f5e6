"""The webhook kinds beyond messages and statuses, at their edges: an item that cannot be read is
kept alone (and counted), what the parser does not map stays in ``extra`` / ``details``, and each
customer event reaches its customer's conversation through the contact directory."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from prometheus_client import REGISTRY

from services.webhook_ingest.change import Normalized
from services.webhook_ingest.normalize import normalize
from services.webhook_ingest.service import IngestService
from services.webhook_ingest.signature import sign
from shared.channels import UNASSIGNED_TENANT, ChannelDirectory
from shared.contact_directory import ContactDirectory
from shared.events import (
    INBOUND_EVENTS,
    AccountNoticeReceived,
    AppContactSynced,
    CallUpdated,
    MarketingPreferenceChanged,
    MessageEchoed,
    MessageReceived,
    WebhookChangeUnhandled,
    WebhookErrorsReported,
)
from shared.events.base import Event
from tests.unit.webhook_ingest import corpus
from tests.unit.webhook_ingest.fakes import FakePublisher, InMemoryAliases

PN = corpus.PHONE_NUMBER_ID
NUMBER = corpus.CUSTOMER
BSUID = "US.13491208655302741918"


def run(payload: dict[str, Any], tenants: ChannelDirectory | None = None) -> Normalized:
    return normalize(payload, tenants or corpus.directory(), corpus.RECEIVED_AT)


def value_of(payload: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = payload["entry"][0]["changes"][0]["value"]
    return value


def kinds(events: list[Event]) -> list[str]:
    return [type(e).__name__ for e in events]


# One broken item per new kind, next to a good sibling: (fixture, how to break a copy of it).
def _no_id(key: str) -> Callable[[dict[str, Any]], None]:
    def breaks(value: dict[str, Any]) -> None:
        broken = copy.deepcopy(value[key][0])
        del broken["id"]
        value[key].insert(0, broken)
    return breaks


def _history_message_without_time(value: dict[str, Any]) -> None:
    messages = value["history"][0]["threads"][0]["messages"]
    broken = {**messages[0], "id": "wamid.broken"}
    del broken["timestamp"]
    messages.insert(0, broken)


def _preference_without_value(value: dict[str, Any]) -> None:
    value["user_preferences"].insert(0, {"wa_id": NUMBER, "category": "marketing_messages",
                                         "timestamp": 1731705000})


def _state_of_another_type(value: dict[str, Any]) -> None:
    value["state_sync"].insert(0, {"type": "label", "label": {"name": "VIP"}, "action": "add"})


def _edit_without_original(value: dict[str, Any]) -> None:
    broken = copy.deepcopy(value["messages"][0])
    broken["id"] = "wamid.broken"
    del broken["edit"]["original_message_id"]
    value["messages"].insert(0, broken)


BROKEN = {
    "smb_message_echoes": ("echo_text", _no_id("message_echoes")),
    "history": ("history_chunk", _history_message_without_time),
    "calls": ("calls_connect", _no_id("calls")),
    "user_preferences": ("user_preferences", _preference_without_value),
    "smb_app_state_sync": ("app_state_sync", _state_of_another_type),
    "messages": ("message_edit", _edit_without_original),
}


@pytest.mark.parametrize("field", sorted(BROKEN))
def test_an_unreadable_item_is_kept_alone_and_counted(field: str) -> None:
    name, breaks = BROKEN[field]
    payload = corpus.load(name)
    breaks(value_of(payload))
    result = run(payload)
    good = corpus.parse(name)
    kept = [e for e in result.events if isinstance(e, WebhookChangeUnhandled)]
    assert len(kept) == 1
    assert kept[0].payload.field == field
    assert isinstance(kept[0].payload.value, dict)
    assert "parse_error" in kept[0].payload.value
    assert kept[0].tenant_id == corpus.TENANT
    # The siblings are exactly what they are without the broken item.
    assert [e for e in result.events if e not in kept] == good
    assert result.malformed == [field]
    assert result.failures == []  # a shape problem, not a parser bug


def test_an_account_notice_without_its_event_is_kept_and_counted() -> None:
    payload = corpus.load("account_alerts")
    del value_of(payload)["alert_info"]
    result = run(payload)
    (event,) = result.events
    assert isinstance(event, WebhookChangeUnhandled)
    assert event.payload.field == "account_alerts"
    assert (result.malformed, result.failures) == (["account_alerts"], [])


def test_a_call_naming_no_customer_is_counted_as_anonymous() -> None:
    payload = corpus.load("calls_connect")
    call = value_of(payload)["calls"][0]
    del call["from"], call["from_user_id"]
    result = run(payload)
    assert kinds(result.events) == ["WebhookChangeUnhandled"]
    assert (result.anonymous, result.malformed) == (1, ["calls"])


async def test_the_service_counts_malformed_items_by_field() -> None:
    payload = corpus.load("calls_connect")
    _no_id("calls")(value_of(payload))
    raw = orjson.dumps(payload)
    service = IngestService(publisher=FakePublisher(), tenants=corpus.directory(),
                            secrets=(corpus.SECRET,), verify_token=corpus.VERIFY_TOKEN,
                            clock=lambda: corpus.RECEIVED_AT, publish_timeout_seconds=5.0)

    def count() -> float:
        return REGISTRY.get_sample_value("webhook_ingest_malformed_items_total",
                                         {"field": "calls"}) or 0.0

    before = count()
    await service.receive(raw, sign(raw, corpus.SECRET))
    assert count() == before + 1


class TestWhatIsNotMappedIsKept:
    def test_an_edit_with_more_than_its_new_content_keeps_the_raw_edit(self) -> None:
        payload = corpus.load("message_edit")
        edit = value_of(payload)["messages"][0]["edit"]
        edit["edit_count"] = 2
        (event,) = run(payload).events
        assert isinstance(event, MessageReceived)
        assert event.payload.extra["edit"] == edit
        assert event.payload.original_wamid == edit["original_message_id"]

    def test_an_echo_from_another_number_keeps_its_sender(self) -> None:
        payload = corpus.load("echo_text")
        value_of(payload)["message_echoes"][0]["from"] = "15550000000"
        (event,) = run(payload).events
        assert isinstance(event, MessageEchoed)
        assert event.payload.extra["from"] == "15550000000"

    def test_a_preference_value_is_lower_cased_and_new_keys_kept(self) -> None:
        payload = corpus.load("user_preferences")
        item = value_of(payload)["user_preferences"][0]
        item.update(value="STOP", source="settings")
        (event,) = run(payload).events
        assert isinstance(event, MarketingPreferenceChanged)
        assert event.payload.value == "stop"
        assert event.payload.extra["source"] == "settings"

    def test_a_preference_names_its_customer_from_the_contacts_when_the_item_does_not(
            self) -> None:
        payload = corpus.load("user_preferences")
        value = value_of(payload)
        del value["user_preferences"][0]["wa_id"]
        value["contacts"] = [{"wa_id": NUMBER, "user_id": BSUID}]
        (event,) = run(payload).events
        assert isinstance(event, MarketingPreferenceChanged)
        assert (event.payload.wa_id, event.payload.user_id) == (NUMBER, BSUID)
        assert event.conversation_id == f"{PN}:{NUMBER}"

    def test_a_bsuid_only_preference_gets_the_bsuid_conversation(self) -> None:
        payload = corpus.load("user_preferences")
        value = value_of(payload)
        value["user_preferences"][0] = {**value["user_preferences"][0], "user_id": BSUID}
        del value["user_preferences"][0]["wa_id"]
        value["contacts"] = [{"user_id": BSUID}]
        (event,) = run(payload).events
        assert event.conversation_id == f"{PN}:{BSUID}"

    def test_a_call_without_a_direction_finds_the_customer_beside_the_business(self) -> None:
        payload = corpus.load("calls_terminate")
        del value_of(payload)["calls"][0]["direction"]
        (event,) = run(payload).events
        assert isinstance(event, CallUpdated)
        assert (event.payload.wa_id, event.payload.direction) == (NUMBER, None)

    def test_call_errors_with_no_call_are_value_errors(self) -> None:
        payload = corpus.load("calls_terminate")
        del value_of(payload)["calls"]
        (event,) = run(payload).events
        assert isinstance(event, WebhookErrorsReported)
        assert event.payload.field == "calls"
        assert [e.code for e in event.payload.errors] == [138021]

    def test_a_history_failure_other_than_declined_is_a_failed_sync(self) -> None:
        payload = corpus.load("history_declined")
        value_of(payload)["history"][0]["errors"][0]["code"] = 131000
        (event,) = run(payload).events
        assert isinstance(event, AccountNoticeReceived)
        assert event.payload.event == "HISTORY_SYNC_FAILED"

    def test_a_history_thread_key_we_do_not_know_is_kept(self) -> None:
        payload = corpus.load("history_chunk")
        value_of(payload)["history"][0]["threads"][0]["user_id"] = BSUID
        events = run(payload).events
        (kept,) = [e for e in events if isinstance(e, WebhookChangeUnhandled)]
        assert BSUID in orjson.dumps(kept.payload.value).decode()
        assert len([e for e in events if isinstance(e, MessageReceived | MessageEchoed)]) == 3

    def test_a_business_message_without_to_is_still_an_echo_in_its_thread(self) -> None:
        payload = corpus.load("history_chunk")
        del value_of(payload)["history"][0]["threads"][0]["messages"][1]["to"]
        echo = next(e for e in run(payload).events if isinstance(e, MessageEchoed))
        assert echo.payload.from_wa_id == NUMBER  # the thread's customer
        assert echo.conversation_id == f"{PN}:{NUMBER}"

    def test_a_state_sync_without_a_timestamp_takes_the_entry_time(self) -> None:
        payload = corpus.load("app_state_sync")
        del value_of(payload)["state_sync"][0]["metadata"]
        event = run(payload).events[0]
        assert isinstance(event, AppContactSynced)
        assert event.payload.at == corpus.RECEIVED_AT

    def test_every_new_kind_round_trips_through_the_topic(self) -> None:
        for name in ("echo_text", "history_chunk", "calls_terminate", "user_preferences",
                     "app_state_sync", "account_alerts", "template_components_update"):
            for event in corpus.parse(name):
                assert INBOUND_EVENTS.validate_json(event.to_bytes()) == event


class Ingest:
    """The service with a real contact directory over an in-memory alias store."""

    def __init__(self, tenants: ChannelDirectory | None = None) -> None:
        self.store = InMemoryAliases()
        self.publisher = FakePublisher()
        self.service = IngestService(
            publisher=self.publisher,
            tenants=corpus.directory() if tenants is None else tenants,
            secrets=(corpus.SECRET,), verify_token=corpus.VERIFY_TOKEN,
            clock=lambda: corpus.RECEIVED_AT, publish_timeout_seconds=5.0,
            contacts=ContactDirectory(self.store, self.store))

    async def send(self, payload: dict[str, Any]) -> list[Event]:
        raw = orjson.dumps(payload)
        await self.service.receive(raw, sign(raw, corpus.SECRET))
        return self.publisher.published[-1][1]


def _message_with_both_ids() -> dict[str, Any]:
    payload = corpus.load("message_text")
    value = value_of(payload)
    value["messages"][0]["from_user_id"] = BSUID
    value["contacts"][0]["user_id"] = BSUID
    return payload


def _bsuid_only(name: str, key: str, number_key: str, user_key: str) -> dict[str, Any]:
    payload = corpus.load(name)
    value = value_of(payload)
    item = value[key][0]
    item.pop(number_key, None)
    item[user_key] = BSUID
    value.pop("contacts", None)
    return payload


class TestConversations:
    """A customer event named by the BSUID alone lands in the conversation the number opened."""

    @pytest.mark.parametrize(("name", "key", "number_key", "user_key"), [
        ("echo_text", "message_echoes", "to", "to_user_id"),
        ("calls_connect", "calls", "from", "from_user_id"),
        ("user_preferences", "user_preferences", "wa_id", "user_id"),
    ])
    async def test_a_customer_event_follows_the_directory(
            self, name: str, key: str, number_key: str, user_key: str) -> None:
        ingest = Ingest()
        await ingest.send(_message_with_both_ids())
        (event,) = await ingest.send(_bsuid_only(name, key, number_key, user_key))
        assert event.conversation_id == f"{PN}:{NUMBER}"  # not the derived {pn}:{bsuid}

    async def test_an_app_contact_opens_the_number_alias(self) -> None:
        ingest = Ingest()
        added, _removed = await ingest.send(corpus.load("app_state_sync"))
        assert added.conversation_id == f"{PN}:16505551299"
        assert ingest.store.aliases()[f"{PN}|wa:16505551299"] == f"{PN}:16505551299"

    async def test_account_notices_have_no_conversation(self) -> None:
        ingest = Ingest()
        (event,) = await ingest.send(corpus.load("account_update_restriction"))
        assert event.conversation_id is None
        assert ingest.store.aliases() == {}

    async def test_an_unassigned_number_keeps_the_derived_id_and_writes_no_alias(self) -> None:
        ingest = Ingest(tenants=ChannelDirectory())
        (event,) = await ingest.send(corpus.load("calls_connect"))
        assert event.tenant_id == UNASSIGNED_TENANT
        assert event.conversation_id == f"{PN}:{NUMBER}"
        assert ingest.store.aliases() == {}
