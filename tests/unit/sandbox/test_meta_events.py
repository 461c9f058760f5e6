"""The control API for Meta's other webhook kinds, through HTTP (ASGI, no sockets): each posts
its webhook signed like the others, and changes what later sends get where Meta's would
(marketing opt-outs, account restrictions, calls opening the window, late messages)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from sandbox.identity import bsuid_for
from tests.unit.sandbox.fakes import START
from tests.unit.sandbox.test_app import (
    CHANNEL,
    CUSTOMER,
    NUMBER,
    Harness,
    code,
    failure,
    template,
    text,
)
from tests.unit.sandbox.test_app import harness as app_harness

harness = app_harness  # the same fixture: the app over ASGI, a manual clock, fake webhooks

WABA = CHANNEL.waba_id
USER_ID = bsuid_for(WABA, CUSTOMER)
T = int(START.timestamp())


async def post(harness: Harness, path: str, **body: Any) -> httpx.Response:
    return await harness.http.post(f"/_sandbox{path}", json=body)


async def ok(harness: Harness, path: str, **body: Any) -> dict[str, Any]:
    response = await post(harness, path, **body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def value_of(payload: dict[str, Any], field: str) -> dict[str, Any]:
    [entry] = payload["entry"]
    [change] = entry["changes"]
    assert change["field"] == field
    value: dict[str, Any] = change["value"]
    return value


def posted(harness: Harness, field: str) -> list[dict[str, Any]]:
    """The values of every webhook of ``field`` the sandbox posted."""
    return [change["value"] for payload in harness.transport.payloads()
            for entry in payload["entry"] for change in entry["changes"]
            if change["field"] == field]


class TestCustomerEditsAndDeletes:
    async def test_an_edit_names_the_original_and_carries_the_new_text(
        self, harness: Harness
    ) -> None:
        said = await harness.customer_says("Where is my ordr?")
        harness.clock.advance(minutes=5)
        edit = await ok(harness, "/customers/edit", phone_number_id=NUMBER, customer=CUSTOMER,
                        message_id=said["wamid"], text="Where is my order?")
        value = value_of(edit["payload"], "messages")
        [message] = value["messages"]
        assert message["type"] == "edit"
        assert message["id"] == edit["wamid"] != said["wamid"]
        assert message["edit"] == {"original_message_id": said["wamid"], "message": {
            "type": "text", "text": {"body": "Where is my order?"}}}
        assert (message["from"], message["from_user_id"]) == (CUSTOMER, USER_ID)
        assert value["contacts"][0]["profile"]["name"] == "Sandbox Customer"
        assert edit["webhook_status"] == 200
        assert harness.transport.payloads()[-1] == edit["payload"]

    async def test_a_caption_edit_carries_the_whole_new_message(self, harness: Harness) -> None:
        photo = await ok(harness, "/customer-messages", phone_number_id=NUMBER, type="image",
                         content={"caption": "teh box"}, **{"from": CUSTOMER})
        image = {**photo["payload"]["entry"][0]["changes"][0]["value"]["messages"][0]["image"],
                 "caption": "the box"}
        edit = await ok(harness, "/customers/edit", phone_number_id=NUMBER, customer=CUSTOMER,
                        message_id=photo["wamid"], message={"type": "image", "image": image})
        message = value_of(edit["payload"], "messages")["messages"][0]
        assert message["edit"]["message"] == {"type": "image", "image": image}

    async def test_only_within_15_minutes(self, harness: Harness) -> None:
        said = await harness.customer_says("hi")
        harness.clock.advance(minutes=15, seconds=1)
        response = await post(harness, "/customers/edit", phone_number_id=NUMBER,
                              customer=CUSTOMER, message_id=said["wamid"], text="hello")
        assert response.status_code == 400
        assert "15 minutes" in response.json()["detail"]

    async def test_a_delete_is_a_revoke(self, harness: Harness) -> None:
        said = await harness.customer_says("oops")
        revoke = await ok(harness, "/customers/revoke", phone_number_id=NUMBER,
                          customer=CUSTOMER, message_id=said["wamid"])
        [message] = value_of(revoke["payload"], "messages")["messages"]
        assert message["type"] == "revoke"
        assert message["revoke"] == {"original_message_id": said["wamid"]}

    @pytest.mark.parametrize("path", ["/customers/edit", "/customers/revoke"])
    async def test_only_a_message_of_this_customer_to_this_number(
        self, harness: Harness, path: str
    ) -> None:
        theirs = await harness.customer_says("hi", wa_id="16505559999")
        ours = (await harness.send(text())).json()["messages"][0]["id"]
        for wamid in (theirs["wamid"], ours, "wamid.unknown"):
            body = {"phone_number_id": NUMBER, "customer": CUSTOMER, "message_id": wamid}
            if path.endswith("edit"):
                body["text"] = "x"
            response = await harness.http.post(f"/_sandbox{path}", json=body)
            assert response.status_code == 400, wamid

    async def test_an_edit_needs_exactly_one_new_content(self, harness: Harness) -> None:
        said = await harness.customer_says("hi")
        response = await post(harness, "/customers/edit", phone_number_id=NUMBER,
                              customer=CUSTOMER, message_id=said["wamid"])
        assert response.status_code == 422


class TestBusinessApp:
    async def test_an_app_message_is_an_echo_and_opens_no_window(
        self, harness: Harness
    ) -> None:
        echo = await ok(harness, "/business-app/messages", phone_number_id=NUMBER,
                        customer=CUSTOMER, content="We open at 9 tomorrow")
        value = value_of(echo["payloads"][0], "smb_message_echoes")
        [item] = value["message_echoes"]
        assert item == {"from": CHANNEL.display_phone_number, "to": CUSTOMER,
                        "to_user_id": USER_ID, "id": echo["id"], "timestamp": str(T),
                        "type": "text", "text": {"body": "We open at 9 tomorrow"}}
        assert value["contacts"][0]["user_id"] == USER_ID
        assert echo["webhook_statuses"] == [200]
        assert await failure(harness, await harness.send(text())) == 131047

    async def test_the_app_edits_and_deletes_its_own_messages(self, harness: Harness) -> None:
        echo = await ok(harness, "/business-app/messages", phone_number_id=NUMBER,
                        customer=CUSTOMER, type="image", content={"caption": "menu"})
        edit = await ok(harness, "/business-app/edit", phone_number_id=NUMBER,
                        customer=CUSTOMER, message_id=echo["id"], text="new menu")
        revoke = await ok(harness, "/business-app/revoke", phone_number_id=NUMBER,
                          customer=CUSTOMER, message_id=echo["id"])
        [edited] = value_of(edit["payloads"][0], "smb_message_echoes")["message_echoes"]
        [revoked] = value_of(revoke["payloads"][0], "smb_message_echoes")["message_echoes"]
        assert edited["edit"]["original_message_id"] == echo["id"]
        assert edited["edit"]["message"] == {"type": "text", "text": {"body": "new menu"}}
        assert revoked["revoke"] == {"original_message_id": echo["id"]}
        said = await harness.customer_says("hi")
        response = await post(harness, "/business-app/revoke", phone_number_id=NUMBER,
                              customer=CUSTOMER, message_id=said["wamid"])
        assert response.status_code == 400  # the customer's message is not the app's

    async def test_a_history_sync_by_phase_and_chunk(self, harness: Harness) -> None:
        sync = await ok(harness, "/business-app/history", phone_number_id=NUMBER,
                        customer=CUSTOMER, chunk_size=2, messages=[
                            {"from": "customer", "content": "Do you deliver?",
                             "sent_seconds_ago": 7200},
                            {"from": "business", "content": "Yes, free over $50",
                             "sent_seconds_ago": 7000},
                            {"from": "customer", "content": "Great", "sent_seconds_ago": 6000},
                            {"from": "customer", "type": "image", "sent_seconds_ago": 30 * 86400},
                            {"from": "customer", "content": "too old",
                             "sent_seconds_ago": 200 * 86400}])
        chunks = [value_of(p, "history")["history"][0] for p in sync["payloads"]]
        assert [c["metadata"] for c in chunks] == [
            {"phase": 0, "chunk_order": 1, "progress": 50},
            {"phase": 0, "chunk_order": 2, "progress": 75},
            {"phase": 1, "chunk_order": 1, "progress": 100}]
        first = chunks[0]["threads"][0]
        assert first["id"] == CUSTOMER
        assert [(m["from"], m.get("to"), m["history_context"]["status"])
                for m in first["messages"]] == [
            (CUSTOMER, None, "READ"), (CHANNEL.display_phone_number, CUSTOMER, "DELIVERED")]
        assert chunks[2]["threads"][0]["messages"][0]["type"] == "media_placeholder"
        assert sync["webhook_statuses"] == [200, 200, 200]  # a 30-day-old image: no content

    async def test_a_declined_history(self, harness: Harness) -> None:
        sync = await ok(harness, "/business-app/history", phone_number_id=NUMBER,
                        customer=CUSTOMER, declined=True)
        assert value_of(sync["payloads"][0], "history")["history"][0]["errors"][0]["code"] \
            == 2593109
        empty = await post(harness, "/business-app/history", phone_number_id=NUMBER,
                           customer=CUSTOMER)
        assert empty.status_code == 400

    async def test_the_address_book(self, harness: Harness) -> None:
        sync = await ok(harness, "/business-app/contacts", phone_number_id=NUMBER, contacts=[
            {"phone_number": "+1 650 555 1234", "full_name": "Sheena Nelson",
             "first_name": "Sheena"},
            {"phone_number": "16505550000", "action": "remove"}])
        items = value_of(sync["payloads"][0], "smb_app_state_sync")["state_sync"]
        assert [(i["contact"], i["action"]) for i in items] == [
            ({"full_name": "Sheena Nelson", "first_name": "Sheena", "phone_number": CUSTOMER},
             "add"),
            ({"phone_number": "16505550000"}, "remove")]
        bad = await post(harness, "/business-app/contacts", phone_number_id=NUMBER,
                         contacts=[{"phone_number": "nope"}])
        assert bad.status_code == 400


class TestMarketingPreferences:
    async def test_stopped_customers_get_no_marketing_until_they_resume(
        self, harness: Harness
    ) -> None:
        await harness.customer_says("hi")
        stop = await ok(harness, "/customers/marketing", phone_number_id=NUMBER,
                        customer=CUSTOMER, value="stop")
        [item] = value_of(stop["payloads"][0], "user_preferences")["user_preferences"]
        assert (item["wa_id"], item["user_id"], item["value"]) == (CUSTOMER, USER_ID, "stop")
        marketing = template("order_update", params=2)
        assert await failure(harness, await harness.send(marketing)) == 131050
        assert await failure(harness, await harness.send(template())) is None  # utility goes
        by_bsuid = {k: v for k, v in marketing.items() if k != "to"} | {"recipient": USER_ID}
        assert await failure(harness, await harness.send(by_bsuid)) == 131050
        await ok(harness, "/customers/marketing", phone_number_id=NUMBER, customer=CUSTOMER,
                 value="resume")
        assert await failure(harness, await harness.send(marketing)) is None
        stats = (await harness.http.get("/_sandbox/stats")).json()
        assert stats["outcomes"]["failed_status_131050"] == 2


class TestCalls:
    async def test_an_answered_call_connects_then_completes_and_opens_the_window(
        self, harness: Harness
    ) -> None:
        call = await ok(harness, "/customers/call", phone_number_id=NUMBER, customer=CUSTOMER,
                        duration_seconds=90)
        connect, terminate = (value_of(p, "calls")["calls"][0] for p in call["payloads"])
        assert (connect["event"], terminate["event"]) == ("connect", "terminate")
        assert connect["id"] == terminate["id"] == call["id"]
        assert call["id"].startswith("wacid.")
        assert (terminate["status"], terminate["duration"]) == ("COMPLETED", 90)
        assert int(connect["timestamp"]) == T - 95  # it rang 5 s, then 90 s of talk
        assert call["webhook_statuses"] == [200, 200]
        assert await failure(harness, await harness.send(text())) is None

    async def test_a_missed_call_fails(self, harness: Harness) -> None:
        call = await ok(harness, "/customers/call", phone_number_id=NUMBER, customer=CUSTOMER,
                        answered=False)
        terminate = value_of(call["payloads"][1], "calls")["calls"][0]
        assert terminate["status"] == "FAILED"
        assert "duration" not in terminate


class TestAccountRestriction:
    async def restrict(self, harness: Harness, kind: str = "RESTRICTED_BIZ_INITIATED_MESSAGING",
                       seconds: float = 3600) -> dict[str, Any]:
        return await ok(harness, "/account-update", waba_id=WABA, event="ACCOUNT_RESTRICTION",
                        restrictions=[{"restriction_type": kind,
                                       "expires_in_seconds": seconds}])

    async def test_business_initiated_templates_are_refused_with_368_until_lifted(
        self, harness: Harness
    ) -> None:
        update = await self.restrict(harness)
        value = value_of(update["payloads"][0], "account_update")
        assert value == {"event": "ACCOUNT_RESTRICTION", "restriction_info": [
            {"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": T + 3600}]}
        assert update["payloads"][0]["entry"][0]["time"] == T

        refused = await harness.send(template())
        assert (refused.status_code, code(refused)) == (403, 368)
        assert refused.json()["error"]["message"].startswith("(#368)")
        listing = (await harness.http.get("/_sandbox/account-restrictions")).json()
        assert listing[WABA][0]["expiration"] == T + 3600

        await harness.customer_says("hi")  # a reply inside the window is not business-initiated
        assert await failure(harness, await harness.send(template())) is None
        assert await failure(harness, await harness.send(text())) is None
        other = template() | {"to": "16505559999"}
        assert code(await harness.send(other)) == 368

        lifted = await harness.http.delete(f"/_sandbox/account-restrictions/{WABA}")
        assert lifted.json() == {}
        assert await failure(harness, await harness.send(other)) is None

    async def test_a_restriction_expires_on_the_sandbox_clock(self, harness: Harness) -> None:
        await self.restrict(harness, seconds=60)
        assert code(await harness.send(template())) == 368
        await harness.http.post("/_sandbox/clock/advance", json={"seconds": 60})
        assert (await harness.send(template())).status_code == 200

    async def test_a_customer_initiated_restriction_refuses_replies(
        self, harness: Harness
    ) -> None:
        await self.restrict(harness, "RESTRICTED_CUSTOMER_INITIATED_MESSAGING")
        await harness.customer_says("hi")
        assert code(await harness.send(text())) == 368
        first_contact = template() | {"to": "16505559999"}
        assert (await harness.send(first_contact)).status_code == 200

    async def test_reset_forgets_restrictions(self, harness: Harness) -> None:
        await self.restrict(harness)
        await harness.http.post("/_sandbox/reset")
        assert (await harness.send(template())).status_code == 200

    @pytest.mark.parametrize("body", [
        {"waba_id": "unknown"},
        {"waba_id": WABA, "restrictions": [{"restriction_type": "NOT_A_TYPE"}]},
        {"waba_id": WABA, "event": "ACCOUNT_VIOLATION",
         "restrictions": [{"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING"}]}])
    async def test_refused_requests(self, harness: Harness, body: dict[str, Any]) -> None:
        response = await harness.http.post("/_sandbox/account-update", json=body)
        assert response.status_code in (400, 404)


class TestOtherAccountEvents:
    async def test_any_account_update_event(self, harness: Harness) -> None:
        update = await ok(harness, "/account-update", waba_id=WABA, event="ACCOUNT_VIOLATION",
                          details={"violation_info": {"violation_type": "ADULT"}})
        assert value_of(update["payloads"][0], "account_update") == {
            "event": "ACCOUNT_VIOLATION", "violation_info": {"violation_type": "ADULT"}}
        assert (await harness.send(template())).status_code == 200  # nothing enforced

    async def test_an_alert_about_the_first_number(self, harness: Harness) -> None:
        alert = await ok(harness, "/account-alerts", waba_id=WABA, alert_type="OBA_REJECTED",
                         alert_severity="CRITICAL")
        value = value_of(alert["payloads"][0], "account_alerts")
        assert (value["entity_type"], value["entity_id"]) == ("PHONE_NUMBER", NUMBER)
        assert value["alert_info"]["alert_type"] == "OBA_REJECTED"

    async def test_a_capability_update(self, harness: Harness) -> None:
        update = await ok(harness, "/business-capability", waba_id=WABA)
        assert value_of(update["payloads"][0], "business_capability_update") == {
            "max_daily_conversations_per_business": 2000, "max_phone_numbers_per_waba": 25}
        bad = await post(harness, "/business-capability", waba_id=WABA,
                         capabilities={"nonsense": 1})
        assert bad.status_code == 422


class TestTemplateComponents:
    async def test_the_new_body_is_what_sends_check(self, harness: Harness) -> None:
        response = await post(harness, "/template-components", waba_id=WABA,
                              name="hello_world", body="Hello {{1}}, welcome back!",
                              footer="Sandbox Shop")
        assert response.status_code == 200, response.text
        assert response.json()["body_text"] == "Hello {{1}}, welcome back!"
        await harness.idle()
        [value] = posted(harness, "message_template_components_update")
        assert value["message_template_element"] == "Hello {{1}}, welcome back!"
        assert value["message_template_footer"] == "Sandbox Shop"
        assert code(await harness.send(template())) == 132000
        assert (await harness.send(template(params=1))).status_code == 200

    async def test_an_approved_edit_tells_its_new_content(self, harness: Harness) -> None:
        await harness.http.put("/_sandbox/template-review", json={"delay_seconds": 0})
        templates = (await harness.http.get("/_sandbox/templates")).json()
        hello = next(t for t in templates if t["name"] == "hello_world")
        own = hello | {"waba_id": WABA, "template_id": "1000000000000042"}
        await harness.http.put("/_sandbox/templates", json=own)
        edited = await harness.http.post("/v25.0/1000000000000042", headers={
            "Authorization": "Bearer secret-token"}, json={"components": [
                {"type": "BODY", "text": "Hello again!"}]})
        assert edited.status_code == 200, edited.text
        await harness.idle()
        [value] = posted(harness, "message_template_components_update")
        assert value["message_template_element"] == "Hello again!"


class TestLateMessages:
    async def test_a_customer_who_last_wrote_25_hours_ago_has_a_closed_window(
        self, harness: Harness
    ) -> None:
        late = await ok(harness, "/customer-messages", phone_number_id=NUMBER, content="hello?",
                        sent_seconds_ago=25 * 3600, **{"from": CUSTOMER})
        [message] = value_of(late["payload"], "messages")["messages"]
        assert message["timestamp"] == str(T - 25 * 3600)
        window = (await harness.http.get(f"/_sandbox/customers/{NUMBER}/{CUSTOMER}")).json()
        assert window["window_open"] is False
        assert await failure(harness, await harness.send(text())) == 131047
        assert (await harness.send(template())).status_code == 200

    async def test_a_late_message_never_moves_the_window_back(self, harness: Harness) -> None:
        await harness.customer_says("fresh")
        await ok(harness, "/customer-messages", phone_number_id=NUMBER, content="old",
                 sent_seconds_ago=timedelta(hours=30).total_seconds(), **{"from": CUSTOMER})
        assert await failure(harness, await harness.send(text())) is None
