"""Customers as the inbox shows them (conversations/people.py, views.py): names, usernames,
numbers in international format, and documents written before BSUIDs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.inbox_api.conversations.people import (
    customer_fields,
    display_name,
    identity_change_text,
)
from services.inbox_api.conversations.views import conversation_view, message_view
from shared.phone import display_number

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(("wa_id", "shown"), [
    # Europe
    ("34612345678", "+34 612 34 56 78"),
    ("4915112345678", "+49 1511 2345678"),
    ("447911123456", "+44 7911 123456"),
    ("33612345678", "+33 6 12 34 56 78"),
    ("79161234567", "+7 916 123-45-67"),
    # Asia
    ("97229876543", "+972 2-987-6543"),
    ("919876543210", "+91 98765 43210"),
    ("8613812345678", "+86 138 1234 5678"),
    ("81312345678", "+81 3-1234-5678"),
    ("6591234567", "+65 9123 4567"),
    ("971501234567", "+971 50 123 4567"),
    # North America
    ("14155552671", "+1 415-555-2671"),
    ("525512345678", "+52 55 1234 5678"),
    ("5215512345678", "+52 1 55 1234 5678"),  # Mexico's old mobile prefix, kept
    # South America
    ("5511987654321", "+55 11 98765-4321"),
    ("5491123456789", "+54 9 11 2345-6789"),
    ("573001234567", "+57 300 1234567"),
    # Africa
    ("27821234567", "+27 82 123 4567"),
    ("2348031234567", "+234 803 123 4567"),
    ("201001234567", "+20 10 01234567"),
    # Oceania
    ("61412345678", "+61 412 345 678"),
    ("64211234567", "+64 21 123 4567"),
])
def test_numbers_in_international_format(wa_id: str, shown: str) -> None:
    assert display_number(wa_id) == shown
    assert display_number(f"+{wa_id}") == shown


@pytest.mark.parametrize(("raw", "shown"), [
    (None, None), ("", None), ("abc", None), ("12345", "+12345"), ("999", "+999"),
])
def test_what_is_not_a_number(raw: str | None, shown: str | None) -> None:
    assert display_number(raw) == shown


@pytest.mark.parametrize(("name", "username", "wa_id", "shown"), [
    ("Ana", "ana.garcia", "34612345678", "Ana"),
    (None, "ana.garcia", "34612345678", "@ana.garcia"),
    ("  ", "@ana.garcia", None, "@ana.garcia"),
    (None, None, "34612345678", "+34 612 34 56 78"),
    (None, None, None, "WhatsApp user"),
])
def test_display_name_order(name, username, wa_id, shown) -> None:
    assert display_name(name, username, wa_id) == shown


def test_identity_change_lines() -> None:
    assert identity_change_text({"identity_change": {"kind": "number",
                                                     "new_wa_id": "34699887766"}}) == (
        "changed their phone number to +34 699 88 77 66")
    assert identity_change_text({"identity_change": {"kind": "user_id"}}) == (
        "changed their WhatsApp account")
    assert identity_change_text({"body": "x"}) is None


OLD_DOC = {"_id": "106540352242922:34612345678", "business_phone_number_id": "106540352242922",
           "customer_wa_id": "34612345678", "customer_wa_ids": ["34612345678"],
           "contact_name": "Ana", "unread_count": 1, "status": "open", "version": 3}


class TestConversationView:
    def test_a_document_of_the_old_version(self) -> None:
        customer = conversation_view(OLD_DOC, NOW).customer
        assert customer.model_dump() == {
            "wa_id": "34612345678", "user_id": None, "username": None, "name": "Ana",
            "display_number": "+34 612 34 56 78", "saved_name": None}

    def test_a_username_customer_without_a_number(self) -> None:
        doc = {"_id": "106540352242922:US.1349", "customer_wa_id": None, "customer_wa_ids": [],
               "customer_user_id": "US.1349", "customer_user_ids": ["US.1349"],
               "customer_username": "ana.garcia", "contact_name": None}
        customer = conversation_view(doc, NOW).customer
        assert customer.model_dump() == {
            "wa_id": None, "user_id": "US.1349", "username": "ana.garcia", "name": None,
            "display_number": None, "saved_name": None}

    def test_the_bsuid_falls_back_to_the_last_seen(self) -> None:
        doc = {**OLD_DOC, "customer_user_ids": ["US.1", "US.2"]}
        assert customer_fields(doc)["user_id"] == "US.2"

    def test_an_empty_number_from_a_summary_is_no_number(self) -> None:
        doc = {**OLD_DOC, "customer_wa_id": ""}
        assert conversation_view(doc, NOW).customer.wa_id is None


def test_a_system_line_message() -> None:
    doc = {"_id": "c/s1", "direction": "system", "message_type": "system",
           "content": {"identity_change": {"kind": "number", "new_wa_id": "4915112345678"}},
           "preview": "changed their phone number to +4915112345678", "sent_at": NOW}
    out = message_view(doc)
    assert (out.direction, out.text) == ("system", "changed their phone number to "
                                                   "+49 1511 2345678")
