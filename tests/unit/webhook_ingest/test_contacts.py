"""Customers named by number, BSUID or both: what webhook_ingest reads from Meta's payloads and
which conversation each message and status lands in (a real ContactDirectory over an in-memory
alias store)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from prometheus_client import REGISTRY

from services.webhook_ingest.errors import NotDurable
from services.webhook_ingest.service import IngestService
from services.webhook_ingest.signature import sign
from shared.channels import ChannelDirectory
from shared.contact_directory import ContactDirectory
from shared.events import (
    ConversationMerged,
    IdentityChange,
    Merge,
    MessageReceived,
    MessageStatusChanged,
    WebhookChangeUnhandled,
)
from shared.events.base import Event
from tests.unit.webhook_ingest import corpus
from tests.unit.webhook_ingest.fakes import FakePublisher, InMemoryAliases

PN = corpus.PHONE_NUMBER_ID
NUMBER = "16505551234"
BSUID = "US.13491208655302741918"
PARENT = "US.ENT.11815799212886844830"
NEW_NUMBER = "16505559999"
NEW_BSUID = "US.55501"


def payload(value: dict[str, Any]) -> dict[str, Any]:
    meta = {"display_phone_number": "15550783881", "phone_number_id": PN}
    return {"object": "whatsapp_business_account",
            "entry": [{"id": corpus.WABA_ID, "time": 1739321024, "changes": [
                {"field": "messages",
                 "value": {"messaging_product": "whatsapp", "metadata": meta, **value}}]}]}


def message(wamid: str, *, number: str | None = NUMBER, user_id: str | None = BSUID,
            contact: bool = True, **fields: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"id": wamid, "timestamp": "1739321024", "type": "text",
                            "text": {"body": "hi"}}
    if number is not None:
        item["from"] = number
    if user_id is not None:
        item["from_user_id"] = user_id
    item.update(fields)
    value: dict[str, Any] = {"messages": [item]}
    if contact:
        entry: dict[str, Any] = {"profile": {"name": "Sheena", "username": "@sheena"}}
        if number is not None:
            entry["wa_id"] = number
        if user_id is not None:
            entry["user_id"] = user_id
            entry["parent_user_id"] = PARENT
        value["contacts"] = [entry]
    return payload(value)


def system(wamid: str, system_obj: dict[str, Any], *, number: str | None = NUMBER,
           user_id: str | None = BSUID) -> dict[str, Any]:
    item: dict[str, Any] = {"id": wamid, "timestamp": "1739321024", "type": "system",
                            "system": system_obj}
    if number is not None:
        item["from"] = number
    if user_id is not None:
        item["from_user_id"] = user_id
    return payload({"messages": [item]})


def status(wamid: str, *, number: str | None = None, user_id: str | None = BSUID,
           state: str = "delivered", username: str | None = "@sheena") -> dict[str, Any]:
    item: dict[str, Any] = {"id": wamid, "status": state, "timestamp": "1739321024"}
    if number is not None:
        item["recipient_id"] = number
    if user_id is not None:
        item["recipient_user_id"] = user_id
    value: dict[str, Any] = {"statuses": [item]}
    if user_id is not None:
        profile = {"name": "Sheena", **({"username": username} if username else {})}
        value["contacts"] = [{"profile": profile, "user_id": user_id}]
    return payload(value)


class Ingest:
    def __init__(self, store: InMemoryAliases | None = None,
                 tenants: ChannelDirectory | None = None) -> None:
        self.store = store or InMemoryAliases()
        self.publisher = FakePublisher()
        self.directory = ContactDirectory(self.store, self.store)
        self.service = IngestService(
            publisher=self.publisher,
            tenants=corpus.directory() if tenants is None else tenants,
            secrets=(corpus.SECRET,), verify_token=corpus.VERIFY_TOKEN,
            clock=lambda: corpus.RECEIVED_AT, publish_timeout_seconds=5.0,
            contacts=self.directory)

    async def send(self, body: dict[str, Any]) -> list[Event]:
        raw = orjson.dumps(body)
        await self.service.receive(raw, sign(raw, corpus.SECRET))
        return self.publisher.published[-1][1]

    async def one(self, body: dict[str, Any]) -> Event:
        (event,) = await self.send(body)
        return event


async def test_a_bsuid_only_message_gets_the_bsuid_conversation() -> None:
    ingest = Ingest()
    event = await ingest.one(message("wamid.1", number=None))
    assert isinstance(event, MessageReceived)
    assert event.conversation_id == f"{PN}:{BSUID}"
    assert event.record_key() == f"{PN}:{BSUID}".encode()
    msg = event.payload
    assert (msg.from_wa_id, msg.from_user_id) == (None, BSUID)
    assert msg.customer is not None
    assert msg.customer.wa_id is None
    assert (msg.customer.user_id, msg.customer.parent_user_id, msg.customer.username) == (
        BSUID, PARENT, "@sheena")
    assert "contact" not in msg.extra  # everything it had is mapped
    assert ingest.store.aliases() == {f"{PN}|uid:{BSUID}": f"{PN}:{BSUID}"}


async def test_both_ids_keep_the_number_scheme_and_alias_both() -> None:
    ingest = Ingest()
    event = await ingest.one(message("wamid.1"))
    assert event.conversation_id == f"{PN}:{NUMBER}"
    assert ingest.store.aliases() == {f"{PN}|uid:{BSUID}": f"{PN}:{NUMBER}",
                                      f"{PN}|wa:{NUMBER}": f"{PN}:{NUMBER}"}
    # Later the number is hidden: same thread.
    later = await ingest.one(message("wamid.2", number=None))
    assert later.conversation_id == f"{PN}:{NUMBER}"


async def test_a_number_only_message_keeps_its_old_id() -> None:
    ingest = Ingest()
    event = await ingest.one(message("wamid.1", user_id=None))
    assert event.conversation_id == f"{PN}:{NUMBER}"
    plain = Ingest()
    plain.service._contacts = None  # the derived id, as before the directory existed
    assert (await plain.one(message("wamid.1", user_id=None))).conversation_id == \
        event.conversation_id


async def test_a_status_with_only_the_bsuid_goes_to_that_bsuids_thread() -> None:
    ingest = Ingest()
    await ingest.one(message("wamid.in", number=NUMBER))  # the thread is keyed by number
    event = await ingest.one(status("wamid.out"))
    assert isinstance(event, MessageStatusChanged)
    assert event.conversation_id == f"{PN}:{NUMBER}"
    st = event.payload
    assert (st.recipient_wa_id, st.recipient_user_id, st.recipient_username) == (
        None, BSUID, "@sheena")


async def test_a_status_of_an_unknown_bsuid_derives_from_it() -> None:
    event = await Ingest().one(status("wamid.out", username=None))
    assert event.conversation_id == f"{PN}:{BSUID}"
    assert isinstance(event, MessageStatusChanged)
    assert event.payload.recipient_username is None


async def test_a_number_change_moves_the_new_identifiers_into_the_thread() -> None:
    ingest = Ingest()
    thread = (await ingest.one(message("wamid.1"))).conversation_id
    event = await ingest.one(system("wamid.sys", {
        "body": "User Sheena changed from 16505551234 to 16505559999",
        "wa_id": NEW_NUMBER, "user_id": NEW_BSUID, "type": "user_changed_number"}))
    assert isinstance(event, MessageReceived)
    assert event.conversation_id == thread
    assert event.payload.identity_change == IdentityChange(
        kind="number", new_wa_id=NEW_NUMBER, new_user_id=NEW_BSUID)
    later = await ingest.one(message("wamid.2", number=NEW_NUMBER, user_id=NEW_BSUID))
    assert later.conversation_id == thread
    hidden = await ingest.one(message("wamid.3", number=None, user_id=NEW_BSUID))
    assert hidden.conversation_id == thread


async def test_a_bsuid_change_moves_the_new_bsuid_into_the_thread() -> None:
    ingest = Ingest()
    thread = (await ingest.one(message("wamid.1", number=None))).conversation_id
    event = await ingest.one(system("wamid.sys", {
        "body": "User Sheena changed", "user_id": NEW_BSUID, "type": "user_changed_user_id"},
        number=None))
    assert event.conversation_id == thread
    assert isinstance(event, MessageReceived)
    assert event.payload.identity_change == IdentityChange(
        kind="user_id", new_wa_id=None, new_user_id=NEW_BSUID)
    later = await ingest.one(message("wamid.2", number=None, user_id=NEW_BSUID))
    assert later.conversation_id == thread


async def test_metas_previous_user_id_names_the_old_thread() -> None:
    # Meta (Aug 2026) reports system.previous_user_id; from_user_id may already be the new one.
    ingest = Ingest()
    thread = (await ingest.one(message("wamid.1", number=None))).conversation_id
    event = await ingest.one(system("wamid.sys", {
        "user_id": NEW_BSUID, "previous_user_id": BSUID, "type": "user_changed_user_id"},
        number=None, user_id=NEW_BSUID))
    assert event.conversation_id == thread
    later = await ingest.one(message("wamid.2", number=None, user_id=NEW_BSUID))
    assert later.conversation_id == thread


def anonymous_count() -> float:
    return REGISTRY.get_sample_value("webhook_ingest_anonymous_items_total") or 0.0


@pytest.mark.parametrize("body", [
    message("wamid.1", number=None, user_id=None, contact=False),
    status("wamid.2", user_id=None),
], ids=["message", "status"])
async def test_neither_id_is_kept_unhandled_and_counted(body: dict[str, Any]) -> None:
    ingest = Ingest()
    before = anonymous_count()
    event = await ingest.one(body)  # accepted: no 5xx
    assert isinstance(event, WebhookChangeUnhandled)
    assert "NoCustomerIdentity" in orjson.dumps(event.payload.value).decode()
    assert anonymous_count() == before + 1
    assert ingest.store.aliases() == {}


class TestMerge:
    """A number and a BSUID first seen apart, then named together: one conversation."""

    async def apart(self, ingest: Ingest) -> None:
        await ingest.one(message("wamid.n", user_id=None))  # a thread by number
        await ingest.one(message("wamid.u", number=None))  # a thread by BSUID

    async def test_the_event_goes_to_the_numbers_thread_and_a_merge_follows(self) -> None:
        ingest = Ingest()
        await self.apart(ingest)
        event, merge = await ingest.send(message("wamid.both"))
        assert event.conversation_id == f"{PN}:{NUMBER}"
        assert isinstance(merge, ConversationMerged)
        # Keyed by the absorbed thread: after everything already published for it.
        assert merge.record_key() == f"{PN}:{BSUID}".encode()
        assert merge.payload == Merge(survivor_conversation_id=f"{PN}:{NUMBER}",
                                      business_phone_number_id=PN, wa_id=NUMBER, user_id=BSUID)
        # Once durable, the aliases moved: the BSUID alone now reaches the survivor.
        assert ingest.store.aliases()[f"{PN}|uid:{BSUID}"] == f"{PN}:{NUMBER}"
        assert ingest.store.aliases()[f"{PN}|merged:{PN}:{BSUID}"] == f"{PN}:{NUMBER}"
        assert (await ingest.one(message("wamid.later", number=None))).conversation_id == \
            f"{PN}:{NUMBER}"
        assert (await ingest.one(message("wamid.again"))).conversation_id == f"{PN}:{NUMBER}"

    async def test_nothing_moves_when_the_publish_fails_so_the_retry_merges_again(self) -> None:
        ingest = Ingest()
        await self.apart(ingest)
        ingest.publisher.failure = "broker down"
        with pytest.raises(NotDurable):
            await ingest.send(message("wamid.both"))
        assert ingest.store.aliases()[f"{PN}|uid:{BSUID}"] == f"{PN}:{BSUID}"
        ingest.publisher.failure = None
        _, merge = await ingest.send(message("wamid.both"))  # Meta retries
        assert isinstance(merge, ConversationMerged)
        assert ingest.store.aliases()[f"{PN}|uid:{BSUID}"] == f"{PN}:{NUMBER}"

    async def test_a_merge_not_recorded_is_found_again_by_the_next_event(self) -> None:
        ingest = Ingest()
        await self.apart(ingest)
        original = ingest.store.insert_absent

        async def down(docs: Any) -> set[str]:
            if any("|merged:" in d["_id"] for d in docs):
                raise ConnectionError("mongo is down")  # gone once the events are published
            return await original(docs)
        ingest.store.insert_absent = down  # type: ignore[method-assign]
        await ingest.send(message("wamid.both"))  # accepted all the same (it is durable)
        ingest.store.insert_absent = original  # type: ignore[method-assign]
        assert ingest.store.aliases()[f"{PN}|uid:{BSUID}"] == f"{PN}:{BSUID}"
        _, merge = await ingest.send(message("wamid.both2"))
        assert isinstance(merge, ConversationMerged)
        # The same merge: the same event id, so the store can tell (it takes it once anyway).
        assert merge.event_id == merge_id(f"{PN}:{BSUID}", f"{PN}:{NUMBER}")
        assert ingest.store.aliases()[f"{PN}|uid:{BSUID}"] == f"{PN}:{NUMBER}"

    async def test_a_merge_recorded_but_not_moved_is_not_published_again(self) -> None:
        ingest = Ingest()
        await self.apart(ingest)
        original = ingest.store.repoint

        async def down(alias: str, absorbed: str, survivor: str) -> bool:
            raise ConnectionError("mongo is down")
        ingest.store.repoint = down  # type: ignore[method-assign]
        await ingest.send(message("wamid.both"))  # the merge record is in, the move failed
        ingest.store.repoint = original  # type: ignore[method-assign]
        (event,) = await ingest.send(message("wamid.both2"))
        assert event.conversation_id == f"{PN}:{NUMBER}"
        assert ingest.store.aliases()[f"{PN}|uid:{BSUID}"] == f"{PN}:{NUMBER}"

    async def test_a_replica_with_a_stale_cache_moves_its_alias_without_merging(self) -> None:
        store = InMemoryAliases()
        first, second = Ingest(store), Ingest(store)
        await self.apart(second)  # the second replica caches both threads
        await first.send(message("wamid.both"))  # the first one merges
        # The stale replica still sends the BSUID to the absorbed thread (the store forwards)...
        stale = await second.one(message("wamid.u2", number=None))
        assert stale.conversation_id == f"{PN}:{BSUID}"
        # ...until it sees both: the merge record tells it, and it merges nothing.
        assert (await second.one(message("wamid.both3"))).conversation_id == f"{PN}:{NUMBER}"
        assert (await second.one(message("wamid.u3", number=None))).conversation_id == \
            f"{PN}:{NUMBER}"

    async def test_a_status_naming_both_merges_too(self) -> None:
        ingest = Ingest()
        await self.apart(ingest)
        event, merge = await ingest.send(status("wamid.out", number=NUMBER))
        assert event.conversation_id == f"{PN}:{NUMBER}"
        assert isinstance(merge, ConversationMerged)


def merge_id(absorbed: str, survivor: str) -> Any:
    from services.webhook_ingest.conversations import Repoint, merge_events
    from shared.contacts import Resolution
    trigger = MessageReceived.model_validate({
        "occurred_at": corpus.RECEIVED_AT, "tenant_id": "t", "payload": {
            "wamid": "w", "message_type": "text", "sent_at": corpus.RECEIVED_AT,
            "business_phone_number_id": PN, "from_wa_id": NUMBER}})
    (event,) = merge_events(trigger, Repoint(PN, "t", Resolution(survivor, absorbed=(absorbed,))))
    return event.event_id


async def test_mongo_down_on_a_miss_answers_503() -> None:
    ingest = Ingest()
    await ingest.one(message("wamid.1"))
    ingest.store.down = True
    # Cached customers still go through.
    assert (await ingest.one(message("wamid.2"))).conversation_id == f"{PN}:{NUMBER}"
    with pytest.raises(NotDurable):
        await ingest.send(message("wamid.3", number="16505550000", user_id="US.7"))


async def test_an_unassigned_number_writes_no_alias() -> None:
    ingest = Ingest(tenants=ChannelDirectory())
    event = await ingest.one(message("wamid.1", number=None))
    assert event.conversation_id == f"{PN}:{BSUID}"
    assert ingest.store.aliases() == {}


async def test_the_corpus_ids_are_unchanged_by_the_directory() -> None:
    for name in corpus.fixture_names():
        expected = [e.conversation_id for e in corpus.parse(name)]
        ingest = Ingest()
        raw = corpus.body(name)
        try:
            await ingest.service.receive(raw, sign(raw, corpus.SECRET))
        except Exception:  # a fixture that is not a valid webhook body
            continue
        got = [e.conversation_id for e in ingest.publisher.published[-1][1]]
        assert got == expected, name
