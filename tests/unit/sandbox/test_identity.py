"""Business-scoped user ids: one stable, predictable BSUID per customer and business portfolio."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.identity import (
    BSUID,
    Customer,
    CustomerBook,
    bsuid_for,
    country_of,
    is_bsuid,
    user_id_or_none,
)
from shared.phone import InvalidPhoneNumber

WABA = "200000000000001"
NUMBER = "16505551234"


class TestBsuid:
    def test_has_metas_shape_country_dot_alphanumerics(self) -> None:
        user_id = bsuid_for(WABA, NUMBER)
        assert BSUID.match(user_id)
        country, digits = user_id.split(".")
        assert country == "US"
        assert len(digits) == 20
        assert digits.isdigit()

    def test_is_stable_and_the_same_for_every_spelling_of_the_number(self) -> None:
        assert bsuid_for(WABA, NUMBER) == bsuid_for(WABA, "+1 650 555 1234")
        # Brazil: the 8-digit and 9-digit mobile spellings are one customer.
        assert bsuid_for(WABA, "551187654321") == bsuid_for(WABA, "5511987654321")

    def test_differs_per_portfolio_and_per_customer(self) -> None:
        assert bsuid_for(WABA, NUMBER) != bsuid_for("200000000000009", NUMBER)
        assert bsuid_for(WABA, NUMBER) != bsuid_for(WABA, "16505551235")

    @pytest.mark.parametrize(("number", "country"), [
        ("16505551234", "US"), ("447700900123", "GB"), ("5511987654321", "BR"),
        ("919876543210", "IN"), ("971501234567", "AE"), ("3725123456", "ZZ"),
    ])
    def test_starts_with_the_numbers_country(self, number: str, country: str) -> None:
        assert country_of(number) == country
        assert bsuid_for(WABA, number).startswith(f"{country}.")

    def test_something_that_is_no_phone_number_has_none(self) -> None:
        with pytest.raises(InvalidPhoneNumber):
            bsuid_for(WABA, "group-1")
        assert user_id_or_none(WABA, "group-1") is None

    def test_recognizes_bsuids_and_parent_bsuids(self) -> None:
        assert is_bsuid("US.13491208655302741918")
        assert is_bsuid("US.ENT.11815799212886844830")
        assert not is_bsuid("16505551234")
        assert not is_bsuid("us.123")


class TestCustomer:
    def test_contact_with_profile_number_and_bsuid(self) -> None:
        customer = Customer("US.1", wa_id=NUMBER, name="Sheena", username="@sheena")
        assert customer.contact() == {"profile": {"name": "Sheena", "username": "@sheena"},
                                      "wa_id": NUMBER, "user_id": "US.1"}
        assert customer.contact(with_username=False) == {
            "profile": {"name": "Sheena"}, "wa_id": NUMBER, "user_id": "US.1"}

    def test_a_hidden_number_and_a_parent_bsuid(self) -> None:
        customer = Customer("US.1", username="@sheena", parent_user_id="US.ENT.9")
        assert customer.contact() == {"profile": {"username": "@sheena"}, "user_id": "US.1",
                                      "parent_user_id": "US.ENT.9"}


def message_webhook(contact: dict[str, Any]) -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": [{"id": WABA, "changes": [
        {"field": "messages", "value": {"contacts": [contact], "messages": []}}]}]}


class TestCustomerBook:
    def test_a_customer_is_known_by_number_and_by_bsuid(self) -> None:
        book = CustomerBook()
        customer = book.customer(WABA, NUMBER)
        assert customer == Customer(bsuid_for(WABA, NUMBER), wa_id=NUMBER)
        assert book.by_user_id(WABA, customer.user_id) == customer
        assert book.by_user_id("200000000000009", customer.user_id) is None

    def test_remembers_the_profile_a_message_showed(self) -> None:
        book = CustomerBook()
        book.remember(WABA, NUMBER, name="Sheena", username="@sheena")
        book.remember(WABA, NUMBER, name="Sheena N.")  # the username is kept
        assert book.customer(WABA, NUMBER).name == "Sheena N."
        assert book.customer(WABA, NUMBER).username == "@sheena"

    def test_learns_profiles_from_a_customer_message_webhook(self) -> None:
        book = CustomerBook()
        book.learn(message_webhook({"profile": {"name": "Sheena", "username": "@s"},
                                    "wa_id": NUMBER, "user_id": bsuid_for(WABA, NUMBER)}))
        # A hidden number: filed under the BSUID alone.
        book.learn(message_webhook({"profile": {"username": "sheena"}, "user_id": "US.2"}))
        book.learn(message_webhook({"profile": {"name": "No id"}}))  # nothing to file it under
        book.learn({"entry": "not a list"})
        book.learn([1, 2])
        assert len(book) == 2
        assert (book.customer(WABA, NUMBER).name, book.customer(WABA, NUMBER).username) == (
            "Sheena", "@s")
        assert book.by_user_id(WABA, "US.2") == Customer("US.2", None, None, "sheena")

    def test_forgets_the_oldest_beyond_its_limit(self) -> None:
        book = CustomerBook(limit=2)
        first = book.customer(WABA, "16505550001")
        book.customer(WABA, "16505550002")
        book.customer(WABA, "16505550003")
        assert len(book) == 2
        assert book.by_user_id(WABA, first.user_id) is None
        book.clear()
        assert len(book) == 0
