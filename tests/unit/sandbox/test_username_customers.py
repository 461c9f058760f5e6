"""Username customers whose number Meta hides, number and BSUID changes, sharing the number
(issue 14): through the control API, the send endpoint and the webhooks."""

from __future__ import annotations

from typing import Any

from sandbox.identity import bsuid_for
from sandbox.personas import Personas
from tests.unit.sandbox.test_app import (
    CHANNEL,
    CUSTOMER,
    NUMBER,
    Harness,
    code,
    failure,
    harness,
    text,
)

__all__ = ["harness"]  # the fixture, imported
WABA = CHANNEL.waba_id
HIDDEN_ID = bsuid_for(WABA, CUSTOMER)


def value(payload: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = payload["entry"][0]["changes"][0]["value"]
    return result


async def says(harness: Harness, who: str = CUSTOMER, body: str = "hi",
               **extra: Any) -> dict[str, Any]:
    response = await harness.http.post("/_sandbox/customer-messages", json={
        "phone_number_id": NUMBER, "from": who, "content": body, "name": "Sheena", **extra})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def control(harness: Harness, action: str, **body: Any) -> dict[str, Any]:
    response = await harness.http.post(f"/_sandbox/customers/{action}", json={
        "phone_number_id": NUMBER, "name": "Sheena", **body})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def by_bsuid(user_id: str, **extra: Any) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient": user_id, "type": "text",
            "text": {"body": "hello"}, **extra}


async def hidden(harness: Harness) -> dict[str, Any]:
    return await says(harness, username="sheena", hide_number=True)


class TestPersonas:
    def test_a_plain_number_is_its_own_customer(self) -> None:
        book = Personas()
        assert book.find(WABA, CUSTOMER) is None
        assert book.resolve(WABA, f"+{CUSTOMER}").user_id == HIDDEN_ID
        assert not book

    def test_every_handle_names_the_customer_after_changes(self) -> None:
        book = Personas()
        book.put(WABA, CUSTOMER, username="sheena", hidden=True)
        _, after = book.put(WABA, CUSTOMER, number="16505559999")
        for handle in (CUSTOMER, HIDDEN_ID, "16505559999", after.user_id):
            assert book.resolve(WABA, handle) == after
        assert after.user_id == bsuid_for(WABA, "16505559999")
        assert (after.username, after.hidden, after.key) == ("sheena", True, after.user_id)
        assert book.user_id_of(WABA, "16505559999") == after.user_id
        assert book.user_id_of(WABA, CUSTOMER) is None  # no longer their number


class TestHiddenNumberMessages:
    async def test_the_webhook_carries_only_the_bsuid(self, harness: Harness) -> None:
        said = await hidden(harness)
        shown = value(said["payload"])
        assert shown["contacts"] == [{"profile": {"name": "Sheena", "username": "sheena"},
                                      "user_id": HIDDEN_ID}]
        (message,) = shown["messages"]
        assert "from" not in message
        assert message["from_user_id"] == HIDDEN_ID
        assert (said["from_wa_id"], said["from_user_id"]) == ("", HIDDEN_ID)

    async def test_a_bsuid_handle_says_as_the_customer(self, harness: Harness) -> None:
        await hidden(harness)
        said = await says(harness, HIDDEN_ID)
        assert value(said["payload"])["messages"][0]["from_user_id"] == HIDDEN_ID
        assert "from" not in value(said["payload"])["messages"][0]

    async def test_an_unknown_bsuid_handle_is_a_400(self, harness: Harness) -> None:
        response = await harness.http.post("/_sandbox/customer-messages", json={
            "phone_number_id": NUMBER, "from": "US.123", "content": "hi"})
        assert response.status_code == 400

    async def test_put_customer_shapes_without_a_message(self, harness: Harness) -> None:
        response = await harness.http.put("/_sandbox/customers", json={
            "phone_number_id": NUMBER, "customer": CUSTOMER, "username": "sheena",
            "hide_number": True})
        assert response.json() == {"wa_id": CUSTOMER, "user_id": HIDDEN_ID,
                                   "username": "sheena", "hide_number": True}
        assert harness.transport.bodies == []
        said = await says(harness)
        assert "wa_id" not in value(said["payload"])["contacts"][0]


class TestSendingToAHiddenCustomer:
    async def test_by_bsuid_is_accepted_and_statuses_carry_only_the_bsuid(
        self, harness: Harness
    ) -> None:
        await hidden(harness)
        response = await harness.send(by_bsuid(HIDDEN_ID))
        assert response.json()["contacts"] == [{"input": HIDDEN_ID, "user_id": HIDDEN_ID}]
        assert await failure(harness, response) is None
        wamid = response.json()["messages"][0]["id"]
        statuses = [s for s in harness.transport.statuses() if s["id"] == wamid]
        assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
        assert all("recipient_id" not in s for s in statuses)
        assert {s["recipient_user_id"] for s in statuses} == {HIDDEN_ID}
        changes = [c["value"] for p in harness.transport.payloads() for e in p["entry"]
                   for c in e["changes"] if "statuses" in c["value"]]
        contacts = [c for v in changes for c in v.get("contacts", [])]
        assert all("wa_id" not in c and c["user_id"] == HIDDEN_ID for c in contacts)
        assert {c.get("profile", {}).get("username") for c in contacts} == {None, "sheena"}
        records = harness.sandbox.dispatcher.statuses.select(NUMBER, wamid=wamid)
        assert {(r.recipient_wa_id, r.recipient_user_id) for r in records} == {
            ("", HIDDEN_ID)}

    async def test_the_window_is_keyed_by_bsuid(self, harness: Harness) -> None:
        assert code(await harness.send(by_bsuid(HIDDEN_ID))) == 131026  # never shown
        await hidden(harness)
        window = await harness.http.get(f"/_sandbox/customers/{NUMBER}/{HIDDEN_ID}")
        assert window.json()["window_open"] is True
        harness.clock.advance(hours=24)
        assert await failure(harness, await harness.send(by_bsuid(HIDDEN_ID))) == 131047
        await says(harness, HIDDEN_ID)
        assert await failure(harness, await harness.send(by_bsuid(HIDDEN_ID))) is None

    async def test_the_pair_limit_applies(self, harness: Harness) -> None:
        await hidden(harness)
        harness.sandbox.configure({"pair_rate_limit": True})
        harness.sandbox.pair_rates.burst = 1
        harness.sandbox.pair_rates.clear()
        codes = []
        for _ in range(50):
            harness.monotonic.now += 1  # stay under the number's throughput
            response = await harness.send(by_bsuid(HIDDEN_ID))
            codes.append(response.status_code)
        assert 429 in codes

    async def test_to_wins_and_its_number_shares_the_window(self, harness: Harness) -> None:
        await hidden(harness)
        response = await harness.send(by_bsuid(HIDDEN_ID, to=CUSTOMER))
        assert response.json()["contacts"] == [{"input": CUSTOMER, "wa_id": CUSTOMER}]
        assert await failure(harness, response) is None

    async def test_read_receipts_work(self, harness: Harness) -> None:
        said = await hidden(harness)
        response = await harness.send({"messaging_product": "whatsapp", "status": "read",
                                       "message_id": said["wamid"]})
        assert response.json() == {"success": True}


class TestIdentityChanges:
    async def test_a_number_change_moves_the_customer(self, harness: Harness) -> None:
        await says(harness)
        changed = await control(harness, "change-number", customer=CUSTOMER,
                                new_wa_id="16505550000")
        message = value(changed["payload"])["messages"][0]
        assert message["from"] == CUSTOMER
        new_id = bsuid_for(WABA, "16505550000")
        assert message["system"] == {
            "body": f"User Sheena changed from {CUSTOMER} to 16505550000",
            "wa_id": "16505550000", "user_id": new_id, "type": "user_changed_number"}
        later = await says(harness, CUSTOMER)  # the old handle still names them
        (contact,) = value(later["payload"])["contacts"]
        assert (contact["wa_id"], contact["user_id"]) == ("16505550000", new_id)
        assert value(later["payload"])["messages"][0]["from"] == "16505550000"
        assert await failure(harness, await harness.send(text(to="16505550000"))) is None

    async def test_a_hidden_customers_number_change_is_a_bsuid_change(
        self, harness: Harness
    ) -> None:
        await hidden(harness)
        changed = await control(harness, "change-number", customer=CUSTOMER)
        message = value(changed["payload"])["messages"][0]
        new_id = bsuid_for(WABA, "16505551235")
        assert "from" not in message
        assert message["from_user_id"] == HIDDEN_ID
        assert message["system"] == {"body": f"User Sheena changed from {HIDDEN_ID} to {new_id}",
                                     "user_id": new_id, "type": "user_changed_user_id"}
        # The window carries over; the new BSUID is reachable.
        assert await failure(harness, await harness.send(by_bsuid(new_id))) is None

    async def test_a_bsuid_change_hides_the_new_number(self, harness: Harness) -> None:
        await says(harness)
        changed = await control(harness, "change-user-id", customer=CUSTOMER,
                                new_user_id="US.777")
        system = value(changed["payload"])["messages"][0]["system"]
        assert (system["user_id"], system["type"]) == ("US.777", "user_changed_user_id")
        assert "wa_id" not in system
        later = await says(harness, CUSTOMER)
        assert value(later["payload"])["contacts"][0] == {"profile": {"name": "Sheena"},
                                                          "user_id": "US.777"}
        assert value(later["payload"])["messages"][0]["from_user_id"] == "US.777"
        response = await harness.send(by_bsuid("US.777"))
        assert response.json()["contacts"] == [{"input": "US.777", "user_id": "US.777"}]
        assert await failure(harness, response) is None


class TestSharingTheNumber:
    async def test_the_answer_to_a_contact_request(self, harness: Harness) -> None:
        await hidden(harness)
        shared = await control(harness, "share-number", customer=HIDDEN_ID)
        shown = value(shared["payload"])
        assert "wa_id" not in shown["contacts"][0]
        message = shown["messages"][0]
        assert (message["type"], message["origin"]) == ("contacts", "contact_request")
        assert message["contacts"][0]["phones"][0]["wa_id"] == CUSTOMER
        later = await says(harness, HIDDEN_ID)
        assert value(later["payload"])["contacts"][0]["wa_id"] == CUSTOMER
        assert value(later["payload"])["messages"][0]["from"] == CUSTOMER
        response = await harness.send(by_bsuid(HIDDEN_ID))
        assert response.json()["contacts"][0]["wa_id"] == CUSTOMER
        assert await failure(harness, response) is None
        wamid = response.json()["messages"][0]["id"]
        assert {s.get("recipient_id") for s in harness.transport.statuses()
                if s["id"] == wamid} == {CUSTOMER}

    async def test_a_later_message_that_carries_both_ids(self, harness: Harness) -> None:
        await hidden(harness)
        shared = await control(harness, "share-number", customer=CUSTOMER, how="message")
        (contact,) = value(shared["payload"])["contacts"]
        assert (contact["wa_id"], contact["user_id"]) == (CUSTOMER, HIDDEN_ID)
        assert value(shared["payload"])["messages"][0]["type"] == "text"
