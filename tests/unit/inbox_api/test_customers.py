"""Issue 14: commands name the customer by number or BSUID (from the conversation document or
the new-conversation API); a new conversation's id comes from the contact directory."""

from __future__ import annotations

import httpx
import pytest

from services.inbox_api.conversations.customers import new_customer
from services.inbox_api.errors import InvalidInput
from tests.unit.inbox_api.fakes import Wiring

BSUID = "US.13491208655302741918"


class FakeContacts:
    def __init__(self, known: dict[tuple[str | None, str | None], str]) -> None:
        self.known = known
        self.calls: list[tuple[str, str, str | None, str | None]] = []

    async def resolve(self, pnid: str, tenant_id: str, wa_id: str | None,
                      user_id: str | None) -> str:
        self.calls.append((pnid, tenant_id, wa_id, user_id))
        return self.known.get((wa_id, user_id), f"{pnid}:{wa_id or user_id}")


class TestNewCustomer:
    def test_a_number_a_bsuid_or_both(self) -> None:
        assert new_customer("+44 7700 900555", None) == {
            "customer_wa_id": "447700900555", "customer_user_id": None}
        assert new_customer(None, BSUID) == {"customer_wa_id": None, "customer_user_id": BSUID}
        assert new_customer("447700900555", BSUID)["customer_user_id"] == BSUID

    @pytest.mark.parametrize(("wa_id", "user_id", "field"), [
        (None, None, "customer_wa_id"),
        ("12", None, "customer_wa_id"),
        (None, "us.123", "customer_user_id"),
        (None, "US.", "customer_user_id"),
        (None, "US.12-34", "customer_user_id"),
        (None, "US.ENT.1234", "customer_user_id"),
        (None, "4915123456789", "customer_user_id"),
    ])
    def test_a_malformed_one_names_its_field(self, wa_id: str | None, user_id: str | None,
                                             field: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            new_customer(wa_id, user_id)
        assert caught.value.extra["field"] == field


class TestNewConversationApi:
    async def test_by_bsuid_sends_to_the_bsuid(self, http: httpx.AsyncClient,
                                               wiring: Wiring) -> None:
        opened = await http.post("/api/v1/conversations", json={
            "business_phone_number_id": "1001", "customer_user_id": BSUID,
            "template_name": "hello_world"})
        assert opened.status_code == 202, opened.text
        assert opened.json()["conversation_id"] == f"1001:{BSUID}"
        sent = wiring.publisher.published[0]
        assert getattr(sent, "customer_wa_id", "x") is None
        assert getattr(sent, "customer_user_id", None) == BSUID

    @pytest.mark.parametrize(("body", "field"), [
        ({"customer_user_id": "not-a-bsuid"}, "customer_user_id"),
        ({"customer_wa_id": "12345"}, "customer_wa_id"),
        ({}, "customer_wa_id"),
    ])
    async def test_a_malformed_customer_is_422_naming_the_field(
            self, http: httpx.AsyncClient, wiring: Wiring, body: dict[str, str],
            field: str) -> None:
        response = await http.post("/api/v1/conversations", json={
            "business_phone_number_id": "1001", "template_name": "hello_world", **body})
        assert response.status_code == 422
        assert response.json()["field"] == field
        assert wiring.publisher.published == []

    async def test_a_number_known_under_a_bsuid_conversation_lands_there(
            self, http: httpx.AsyncClient, wiring: Wiring) -> None:
        contacts = FakeContacts({("447700900555", None): f"1001:{BSUID}"})
        wiring.state["commands"].contacts = contacts
        opened = await http.post("/api/v1/conversations", json={
            "business_phone_number_id": "1001", "customer_wa_id": "+44 7700 900555",
            "template_name": "hello_world"})
        assert opened.status_code == 202
        assert opened.json()["conversation_id"] == f"1001:{BSUID}"
        assert contacts.calls == [("1001", "acme", "447700900555", None)]
        sent = wiring.publisher.published[0]
        assert sent.conversation_id == f"1001:{BSUID}"
        assert getattr(sent, "customer_wa_id", None) == "447700900555"


class TestSendsFromTheConversationDocument:
    async def test_a_bsuid_only_conversation_sends_by_bsuid(self, http: httpx.AsyncClient,
                                                            wiring: Wiring) -> None:
        cid = "1001:16505550123"
        doc = wiring.repository.conversation_docs[cid]
        doc.update({"customer_wa_id": None, "customer_user_id": BSUID})
        response = await http.post(f"/api/v1/conversations/{cid}/messages",
                                   json={"kind": "text", "text": "hi"})
        assert response.status_code == 202, response.text
        sent = wiring.publisher.published[0]
        assert (getattr(sent, "customer_wa_id", "x"), getattr(sent, "customer_user_id", None)
                ) == (None, BSUID)
