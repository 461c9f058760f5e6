"""Issue 14: a campaign row names its customer by number or BSUID; rows resolve to
conversations through the contact directory; duplicates are found across both kinds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from services.inbox_api.campaigns.audience import Row, customer_of, rows_from_csv, validate
from services.inbox_api.campaigns.recipients import customer_key, store_upload
from services.outbound_sender.campaigns.release import release_command
from services.outbound_sender.payloads import message_body
from shared.campaigns import campaign_command_id, number_id

BSUID = "US.13491208655302741918"
OTHER = "BR.77"
NOW = datetime(2026, 12, 1, tzinfo=UTC)
TEMPLATE = {"components": [{"type": "BODY", "text": "Hello"}]}


class TestRows:
    def test_the_phone_column_takes_a_number_or_a_bsuid(self) -> None:
        rows, _ = rows_from_csv(f"phone\n+49 151 2345 6789\n{BSUID}\n", "Hello")
        audience = validate(rows, "Hello")
        assert [(r.wa_id, r.user_id) for r in audience.recipients] == [
            ("4915123456789", None), (None, BSUID)]

    def test_a_user_id_column_is_the_customer_column(self) -> None:
        rows, _ = rows_from_csv(f"user_id;email\n{BSUID};a@x\n", "Hello")
        assert validate(rows, "Hello").recipients[0].user_id == BSUID

    @pytest.mark.parametrize(("value", "code"), [
        ("US.12-3", "invalid_user_id"), ("us.", "invalid_user_id"), ("12", "invalid_phone"),
        ("", "invalid_phone"), ("hello", "invalid_phone")])
    def test_a_malformed_value_is_an_error_naming_row_and_field(self, value: str,
                                                                code: str) -> None:
        wa_id, user_id, error = customer_of(Row(7, value, {}))
        assert (wa_id, user_id) == (None, None)
        assert error is not None
        assert (error.row, error.column, error.code) == (7, "phone", code)

    def test_the_same_bsuid_twice_is_a_duplicate(self) -> None:
        audience = validate([Row(2, BSUID, {}), Row(3, BSUID, {})], "Hello")
        assert audience.duplicates == 1
        assert audience.errors[0].code == "duplicate"


class FakeStore:
    def __init__(self) -> None:
        self.numbers: set[str] = set()
        self.recipients: list[dict[str, Any]] = []
        self.rows = 0

    async def add_numbers(self, campaign_id: str, wa_ids: Sequence[str]) -> set[str]:
        taken = {w for w in wa_ids if number_id(campaign_id, w) in self.numbers}
        self.numbers |= {number_id(campaign_id, w) for w in wa_ids}
        return taken

    async def reserve_rows(self, campaign_id: str, count: int) -> int:
        first, self.rows = self.rows + 1, self.rows + count
        return first

    async def recipient_at(self, campaign_id: str, position: int) -> dict[str, Any] | None:
        return next((r for r in self.recipients if r["position"] == position), None)

    async def add_recipients(self, docs: Sequence[dict[str, Any]]) -> int:
        self.recipients.extend(docs)
        return len(docs)

    async def record_upload(self, campaign_id: str, change: dict[str, Any]) -> None:
        pass


class FakeContacts:
    """Knows that +49 151 2345 6789 and BSUID are one customer (a BSUID conversation)."""

    def __init__(self) -> None:
        self.same = {("4915123456789", None): f"1001:{BSUID}", (None, BSUID): f"1001:{BSUID}"}

    async def resolve(self, pnid: str, tenant_id: str, wa_id: str | None,
                      user_id: str | None) -> str:
        return self.same.get((wa_id, user_id), f"{pnid}:{wa_id or user_id}")


CAMPAIGN = {"_id": "c1", "tenant_id": "acme", "business_phone_number_id": "1001",
            "template": {"name": "promo", "language": "en_US"}}


class TestStoreUpload:
    # FakeStore implements only what store_upload calls.
    async def test_rows_reach_the_right_customers_once(self) -> None:
        store: Any = FakeStore()
        rows = [Row(2, BSUID, {}), Row(3, "+49 151 2345 6789", {}), Row(4, OTHER, {}),
                Row(5, "+55 11 98765 4321", {})]
        audience = await store_upload(store, lambda: NOW, CAMPAIGN, TEMPLATE, rows,
                                      FakeContacts())
        # Row 3 is row 2's customer (the directory knows both identifiers): a duplicate.
        assert audience.duplicates == 1
        assert [e.row for e in audience.errors if e.code == "duplicate"] == [3]
        got = [(r["conversation_id"], r["wa_id"], r["user_id"]) for r in store.recipients]
        assert got == [(f"1001:{BSUID}", None, BSUID), (f"1001:{OTHER}", None, OTHER),
                       ("1001:5511987654321", "5511987654321", None)]
        assert store.recipients[0]["command_id"] == campaign_command_id("c1", BSUID)

    async def test_a_later_upload_by_the_other_identifier_is_a_duplicate(self) -> None:
        store: Any = FakeStore()
        await store_upload(store, lambda: NOW, CAMPAIGN, TEMPLATE, [Row(2, BSUID, {})],
                           FakeContacts())
        audience = await store_upload(store, lambda: NOW, CAMPAIGN, TEMPLATE,
                                      [Row(2, "4915123456789", {})], FakeContacts())
        assert audience.duplicates == 1
        assert audience.recipients == []

    async def test_a_number_row_keeps_the_key_campaigns_always_used(self) -> None:
        store: Any = FakeStore()
        await store_upload(store, lambda: NOW, CAMPAIGN, TEMPLATE,
                           [Row(2, "+55 11 98765 4321", {})], None)
        assert number_id("c1", "5511987654321") in store.numbers
        assert customer_key("1001", "1001:5511987654321") == "5511987654321"
        assert store.recipients[0]["command_id"] == campaign_command_id("c1", "5511987654321")

    async def test_the_dispatcher_sends_a_bsuid_row_by_recipient(self) -> None:
        store: Any = FakeStore()
        await store_upload(store, lambda: NOW, CAMPAIGN, TEMPLATE, [Row(2, OTHER, {})], None)
        command = release_command(CAMPAIGN, store.recipients[0], NOW)
        assert (command.customer_wa_id, command.customer_user_id) == (None, OTHER)
        body = message_body(command)
        assert body["recipient"] == OTHER
        assert "to" not in body
