"""What a business may address after its customers wrote: their messages, their BSUIDs."""

from __future__ import annotations

from typing import Any

from sandbox.recipients import Recipients
from tests.unit.sandbox.test_app import CHANNEL, CUSTOMER

OTHER_NUMBER = CHANNEL.model_copy(update={"phone_number_id": "100000000000002"})
OTHER_ACCOUNT = CHANNEL.model_copy(update={"phone_number_id": "300000000000003",
                                           "waba_id": "300000000000009"})


def payload(value: dict[str, Any]) -> dict[str, Any]:
    return {"object": "whatsapp_business_account",
            "entry": [{"id": CHANNEL.waba_id, "changes": [{"field": "messages",
                                                            "value": value}]}]}


def text_message(wamid: str = "wamid.IN1") -> dict[str, Any]:
    return {"from": CUSTOMER, "id": wamid, "timestamp": "1", "type": "text",
            "text": {"body": "hi"}}


class TestRecipients:
    def test_a_customer_message_may_be_marked_read_by_its_number_only(self) -> None:
        book = Recipients()
        book.learn(CHANNEL, text_message(), payload({"contacts": []}), CUSTOMER)
        assert book.received(CHANNEL.phone_number_id, "wamid.IN1")
        assert not book.received(OTHER_NUMBER.phone_number_id, "wamid.IN1")
        assert not book.received(CHANNEL.phone_number_id, "wamid.OUT")

    def test_bsuids_from_contacts_belong_to_the_account(self) -> None:
        book = Recipients()
        contacts = [{"wa_id": CUSTOMER, "user_id": "US.1", "parent_user_id": "US.ENT.2"}]
        book.learn(CHANNEL, text_message(), payload({"contacts": contacts}), CUSTOMER)
        assert book.wa_id(CHANNEL, "US.1") == CUSTOMER
        assert book.wa_id(OTHER_NUMBER, "US.ENT.2") == CUSTOMER
        assert book.wa_id(OTHER_ACCOUNT, "US.1") is None

    def test_a_bsuid_change_teaches_the_new_bsuid_without_the_hidden_number(self) -> None:
        book = Recipients()
        built = {"from": CUSTOMER, "id": "wamid.SYS", "timestamp": "1", "type": "system",
                 "system": {"type": "user_changed_user_id", "wa_id": "16505550000"}}
        shown = {**built, "system": {"type": "user_changed_user_id", "user_id": "US.9"}}
        book.learn(CHANNEL, built, payload({"messages": [shown]}), CUSTOMER)
        assert book.wa_id(CHANNEL, "US.9") == ""  # known, reachable by BSUID alone

    def test_a_hidden_number_contact_is_reachable_by_bsuid_alone(self) -> None:
        book = Recipients()
        contacts = [{"profile": {"username": "sheena"}, "user_id": "US.7"}]
        book.learn(CHANNEL, text_message("wamid.H"), payload({"contacts": contacts}), "")
        assert book.wa_id(CHANNEL, "US.7") == ""
        book.show(CHANNEL, "US.7", CUSTOMER)  # they shared their number
        assert book.wa_id(CHANNEL, "US.7") == CUSTOMER

    def test_the_oldest_are_forgotten_and_clear_forgets_all(self) -> None:
        book = Recipients(limit=1)
        for i in (1, 2):
            contacts = [{"wa_id": CUSTOMER, "user_id": f"US.{i}"}]
            book.learn(CHANNEL, text_message(f"wamid.{i}"), payload({"contacts": contacts}),
                       CUSTOMER)
        assert not book.received(CHANNEL.phone_number_id, "wamid.1")
        assert book.wa_id(CHANNEL, "US.1") is None
        assert book.wa_id(CHANNEL, "US.2") == CUSTOMER
        book.clear()
        assert not book.received(CHANNEL.phone_number_id, "wamid.2")
