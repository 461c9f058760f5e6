"""The sandbox through its HTTP API (ASGI, no sockets): Meta's answers, faults, the customer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from sandbox.catalog import TemplateSpec
from sandbox.main import create_app
from sandbox.service import Sandbox
from sandbox.settings import SandboxSettings
from shared.channels import Channel
from tests.unit.sandbox.fakes import FakeTransport, ManualClock, ManualMonotonic, WithState

NUMBER = "100000000000001"
CUSTOMER = "16505551234"
TOKEN = "secret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
URL = f"/v25.0/{NUMBER}/messages"
CHANNEL = Channel(phone_number_id=NUMBER, display_phone_number="15550001111",
                  access_token=SecretStr(TOKEN), throughput_mps=5, waba_id="200000000000001",
                  tenant_id="acme")
TEMPLATES = [
    TemplateSpec(name="hello_world", body_text="Hello!"),
    TemplateSpec(name="order_update", body_text="Hi {{1}}, order {{2}}", category="marketing"),
]


@dataclass
class Harness:
    http: httpx.AsyncClient
    sandbox: Sandbox
    transport: FakeTransport
    clock: ManualClock
    monotonic: ManualMonotonic

    async def send(self, body: dict[str, Any], headers: dict[str, str] | None = None,
                   url: str = URL) -> httpx.Response:
        return await self.http.post(url, json=body, headers=AUTH if headers is None else headers)

    async def customer_says(self, text: str = "hi", wa_id: str = CUSTOMER) -> dict[str, Any]:
        response = await self.http.post("/_sandbox/customer-messages", json={
            "phone_number_id": NUMBER, "from": wa_id, "type": "text", "content": text})
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    async def idle(self) -> None:
        assert await self.sandbox.dispatcher.wait_idle(timeout=10)


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    settings = SandboxSettings(
        channels=[CHANNEL], templates=TEMPLATES, webhook_url=None,
        sent_delay_seconds=0, delivered_delay_seconds=0, read_delay_seconds=0, delay_jitter=0,
        webhook_batch_interval_seconds=0.001, webhook_retry_base_seconds=0.001,
        random_seed=1,
    )
    transport, clock, monotonic = FakeTransport(), ManualClock(), ManualMonotonic()
    app = create_app(settings, clock=clock, monotonic=monotonic, webhook_transport=transport)
    async with app.api.router.lifespan_context(app.api) as state:
        assert state is not None
        asgi = httpx.ASGITransport(app=WithState(app, dict(state)))
        async with httpx.AsyncClient(transport=asgi, base_url="http://sandbox") as http:
            yield Harness(http, state["sandbox"], transport, clock, monotonic)


def text(body: str = "hello", to: str = f"+{CUSTOMER}", **extra: Any) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": body},
            **extra}


def template(name: str = "hello_world", params: int = 0) -> dict[str, Any]:
    components = [{"type": "body", "parameters": [{"type": "text", "text": str(i)}
                                                  for i in range(params)]}] if params else []
    return {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "template",
            "template": {"name": name, "language": {"code": "en_US"},
                         "components": components}}


def code(response: httpx.Response) -> int:
    value: int = response.json()["error"]["code"]
    return value


async def failure(harness: Harness, response: httpx.Response) -> int | None:
    """An accepted message's fate: the code of its ``failed`` status, None if it went out."""
    assert response.status_code == 200, response.text
    wamid = response.json()["messages"][0]["id"]
    await harness.idle()
    statuses = [s for s in harness.transport.statuses() if s["id"] == wamid]
    assert statuses, "no status for an accepted message"
    failed = [s for s in statuses if s["status"] == "failed"]
    if not failed:
        return None
    assert len(statuses) == 1, "a failed message has no other status"
    value: int = failed[0]["errors"][0]["code"]
    return value


class TestAuthAndNumbers:
    async def test_an_unknown_number_is_metas_unsupported_post_request(
        self, harness: Harness
    ) -> None:
        response = await harness.send(text(), url="/v25.0/999/messages")
        error = response.json()["error"]
        assert response.status_code == 400
        assert (error["code"], error["type"], error["error_subcode"]) == (
            100, "GraphMethodException", 33)

    @pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"},
                                         {"Authorization": TOKEN}])
    async def test_a_bad_token_is_190_with_401(self, harness: Harness,
                                               headers: dict[str, str]) -> None:
        response = await harness.send(text(), headers=headers)
        assert (response.status_code, code(response)) == (401, 190)
        assert response.json()["error"]["type"] == "OAuthException"

    async def test_a_body_that_is_not_json_is_100(self, harness: Harness) -> None:
        response = await harness.http.post(URL, content=b"{nope", headers=AUTH)
        assert (response.status_code, code(response)) == (400, 100)

    async def test_other_paths_are_not_the_send_endpoint(self, harness: Harness) -> None:
        response = await harness.http.post("/v25.0/messages", headers=AUTH)
        assert (response.status_code, code(response)) == (400, 100)
        assert (await harness.http.get("/healthz")).status_code == 200
        assert (await harness.http.get("/readyz")).status_code == 200

    async def test_the_console_page_is_served(self, harness: Harness) -> None:
        response = await harness.http.get("/_sandbox/")
        assert response.status_code == 200
        assert "/customer-messages" in response.text
        assert response.headers["content-type"].startswith("text/html")


class TestWindow:
    """Meta refuses free-form outside the window asynchronously: 200 and a wamid, then a
    ``failed`` status with 131047 (Re-engagement message)."""

    async def test_first_contact_free_form_is_accepted_then_fails_with_131047(
        self, harness: Harness
    ) -> None:
        response = await harness.send(text())
        assert response.status_code == 200
        assert response.json()["contacts"] == [{"input": f"+{CUSTOMER}", "wa_id": CUSTOMER}]
        assert await failure(harness, response) == 131047
        (status,) = harness.transport.statuses()
        assert status["recipient_id"] == CUSTOMER
        error = status["errors"][0]
        assert error["title"] == "Re-engagement message"
        assert "24 hours" in error["error_data"]["details"]

    async def test_after_the_customer_writes_free_form_is_accepted(
        self, harness: Harness
    ) -> None:
        await harness.customer_says()
        response = await harness.send(text())
        assert response.status_code == 200
        data = response.json()
        assert data["messaging_product"] == "whatsapp"
        assert data["contacts"] == [{"input": f"+{CUSTOMER}", "wa_id": CUSTOMER}]
        (message,) = data["messages"]
        assert message["id"].startswith("wamid.")
        assert "message_status" not in message
        assert await failure(harness, response) is None

    async def test_24_hours_later_free_form_fails_again_but_a_template_goes(
        self, harness: Harness
    ) -> None:
        await harness.customer_says()
        harness.clock.advance(hours=23, minutes=59, seconds=59)
        assert await failure(harness, await harness.send(text())) is None
        harness.clock.advance(seconds=1)
        assert await failure(harness, await harness.send(text())) == 131047
        accepted = await harness.send(template())
        assert accepted.json()["messages"][0]["message_status"] == "accepted"
        assert await failure(harness, accepted) is None

    async def test_the_control_clock_closes_the_window(self, harness: Harness) -> None:
        await harness.customer_says()
        moved = await harness.http.post("/_sandbox/clock/advance", json={"seconds": 86400})
        assert moved.json()["offset_seconds"] == 86400
        assert await failure(harness, await harness.send(text())) == 131047

    async def test_the_window_belongs_to_the_customer(self, harness: Harness) -> None:
        await harness.customer_says(wa_id="5511987654321")
        assert await failure(harness, await harness.send(text())) == 131047
        # Brazil's number without the 9th digit is the same customer.
        assert await failure(harness, await harness.send(text(to="+551187654321"))) is None

    async def test_the_customer_endpoint_reports_the_window(self, harness: Harness) -> None:
        sent = await harness.customer_says()
        window = (await harness.http.get(f"/_sandbox/customers/{NUMBER}/{CUSTOMER}")).json()
        assert window["window_open"] is True
        assert window["last_inbound_at"] == sent["timestamp"]

    async def test_the_window_counts_from_metas_whole_second_timestamp(
        self, harness: Harness
    ) -> None:
        harness.clock.now = datetime(2026, 3, 1, 12, 0, 0, 900_000, tzinfo=UTC)
        await harness.customer_says()
        harness.clock.now = datetime(2026, 3, 2, 12, 0, 0, 100_000, tzinfo=UTC)
        assert await failure(harness, await harness.send(text())) == 131047

    async def test_a_reply_to_ones_own_number_is_131021(self, harness: Harness) -> None:
        assert code(await harness.send(text(to="15550001111"))) == 131021

    async def test_the_asynchronous_refusal_is_recorded_as_accepted_and_counted(
        self, harness: Harness
    ) -> None:
        wamid = (await harness.send(text())).json()["messages"][0]["id"]
        (record,) = await received(harness)
        assert (record["http_status"], record["wamid"], record["error_code"]) == (
            200, wamid, None)
        await harness.idle()
        statuses = (await harness.http.get("/_sandbox/statuses")).json()["items"]
        assert [(s["wamid"], s["status"], s["error_code"]) for s in statuses] == [
            (wamid, "failed", 131047)]
        stats = (await harness.http.get("/_sandbox/stats")).json()
        assert stats["outcomes"] == {"accepted": 1, "failed_status_131047": 1}

    async def test_a_status_failed_fault_wins_over_the_window(self, harness: Harness) -> None:
        fault = {"kind": "status_failed", "code": 131026}
        assert (await harness.http.post(f"/_sandbox/faults/{NUMBER}", json=fault)).is_success
        assert await failure(harness, await harness.send(text())) == 131026


class TestRecipientByBsuid:
    """``recipient`` (a BSUID) instead of ``to``: the customer the webhooks showed that BSUID."""

    async def bsuid(self, harness: Harness, wa_id: str = CUSTOMER) -> str:
        said = await harness.customer_says(wa_id=wa_id)
        (contact,) = said["payload"]["entry"][0]["changes"][0]["value"]["contacts"]
        user_id: str = contact["user_id"]
        return user_id

    def by_bsuid(self, user_id: str, **extra: Any) -> dict[str, Any]:
        return {"messaging_product": "whatsapp", "recipient": user_id, "type": "text",
                "text": {"body": "hello"}, **extra}

    async def test_a_known_bsuid_reaches_its_customer(self, harness: Harness) -> None:
        user_id = await self.bsuid(harness)
        response = await harness.send(self.by_bsuid(user_id, biz_opaque_callback_data="c1"))
        assert response.status_code == 200
        assert response.json()["contacts"] == [
            {"input": user_id, "wa_id": CUSTOMER, "user_id": user_id}]
        assert await failure(harness, response) is None
        wamid = response.json()["messages"][0]["id"]
        statuses = [s for s in harness.transport.statuses() if s["id"] == wamid]
        assert {s["recipient_id"] for s in statuses} == {CUSTOMER}
        assert {s.get("recipient_user_id") for s in statuses} == {user_id}

    async def test_the_window_still_applies(self, harness: Harness) -> None:
        user_id = await self.bsuid(harness)
        harness.clock.advance(hours=24)
        assert await failure(harness, await harness.send(self.by_bsuid(user_id))) == 131047

    async def test_an_unknown_bsuid_is_131026(self, harness: Harness) -> None:
        await harness.customer_says()
        response = await harness.send(self.by_bsuid("US.99999999999999999999"))
        assert (response.status_code, code(response)) == (400, 131026)

    async def test_when_both_are_given_to_wins(self, harness: Harness) -> None:
        user_id = await self.bsuid(harness)
        await harness.customer_says(wa_id="447700900123")
        response = await harness.send(self.by_bsuid(user_id, to="+447700900123"))
        assert response.json()["contacts"] == [
            {"input": "+447700900123", "wa_id": "447700900123"}]

    async def test_another_number_of_the_same_account_may_use_it(
        self, harness: Harness
    ) -> None:
        user_id = await self.bsuid(harness)
        other = CHANNEL.model_copy(update={"phone_number_id": "100000000000002",
                                           "display_phone_number": "15550002222"})
        assert (await harness.http.put("/_sandbox/channels",
                                       json=other.to_document())).is_success
        body = {"messaging_product": "whatsapp", "recipient": user_id, "type": "template",
                "template": {"name": "hello_world", "language": {"code": "en_US"}}}
        response = await harness.send(body, url="/v25.0/100000000000002/messages")
        assert response.status_code == 200
        assert response.json()["contacts"][0]["wa_id"] == CUSTOMER

    async def test_reset_forgets_the_bsuids(self, harness: Harness) -> None:
        user_id = await self.bsuid(harness)
        assert (await harness.http.post("/_sandbox/reset")).status_code == 204
        assert code(await harness.send(self.by_bsuid(user_id))) == 131026


class TestMarkAsRead:
    def read(self, wamid: str, **extra: Any) -> dict[str, Any]:
        return {"messaging_product": "whatsapp", "status": "read", "message_id": wamid,
                **extra}

    async def test_a_customers_message_is_marked_read(self, harness: Harness) -> None:
        inbound = await harness.customer_says()
        response = await harness.send(self.read(inbound["wamid"]))
        assert (response.status_code, response.json()) == (200, {"success": True})
        typing = await harness.send(self.read(inbound["wamid"],
                                              typing_indicator={"type": "text"}))
        assert (typing.status_code, typing.json()) == (200, {"success": True})
        await harness.idle()
        assert harness.transport.statuses() == []

    async def test_an_outbound_or_unknown_wamid_is_100(self, harness: Harness) -> None:
        await harness.customer_says()
        outbound = (await harness.send(text())).json()["messages"][0]["id"]
        for wamid in (outbound, "wamid.HBgLnope"):
            response = await harness.send(self.read(wamid))
            assert (response.status_code, code(response)) == (400, 100)
            assert "message_id" in response.json()["error"]["error_data"]["details"]

    async def test_another_numbers_customer_message_is_100(self, harness: Harness) -> None:
        inbound = await harness.customer_says()
        other = CHANNEL.model_copy(update={"phone_number_id": "100000000000002"})
        assert (await harness.http.put("/_sandbox/channels",
                                       json=other.to_document())).is_success
        response = await harness.send(self.read(inbound["wamid"]),
                                      url="/v25.0/100000000000002/messages")
        assert code(response) == 100


class TestTemplates:
    async def test_a_template_opens_a_conversation(self, harness: Harness) -> None:
        assert (await harness.send(template("order_update", params=2))).status_code == 200

    @pytest.mark.parametrize(("name", "params", "expected"), [
        ("unknown", 0, 132001), ("order_update", 1, 132000), ("hello_world", 1, 132000)])
    async def test_refusals(self, harness: Harness, name: str, params: int,
                            expected: int) -> None:
        assert code(await harness.send(template(name, params))) == expected

    @pytest.mark.parametrize(("status", "expected"), [
        ("PAUSED", 132015), ("DISABLED", 132016), ("PENDING", 132001), ("REJECTED", 132001)])
    async def test_a_template_changed_through_the_control_api(
        self, harness: Harness, status: str, expected: int
    ) -> None:
        changed = TemplateSpec(name="hello_world", body_text="Hello!", status=status)
        put = await harness.http.put("/_sandbox/templates", json=changed.model_dump())
        assert put.status_code == 200
        assert code(await harness.send(template())) == expected


class TestThroughput:
    async def test_beyond_the_numbers_mps_is_130429_with_retry_after(
        self, harness: Harness
    ) -> None:
        answers = [await harness.send(template()) for _ in range(6)]
        assert [r.status_code for r in answers] == [200] * 5 + [429]
        assert code(answers[-1]) == 130429
        assert answers[-1].headers["retry-after"] == "1"
        harness.monotonic.now += 1.0
        assert (await harness.send(template())).status_code == 200

    async def test_the_pair_limit_is_off_until_configured(self, harness: Harness) -> None:
        await harness.customer_says()
        configured = await harness.http.patch("/_sandbox/behaviour",
                                              json={"pair_rate_limit": True})
        assert configured.json()["pair_rate_limit"] is True
        harness.sandbox.pair_rates.burst = 2
        answers = [await harness.send(text()) for _ in range(3)]
        assert [r.status_code for r in answers] == [200, 200, 429]
        assert code(answers[-1]) == 131056
        assert (await harness.send(text(to="+447700900123"))).status_code != 429


class TestStatusWebhooks:
    async def test_an_accepted_message_is_sent_delivered_and_read(
        self, harness: Harness
    ) -> None:
        await harness.customer_says()
        wamid = (await harness.send(text(biz_opaque_callback_data="cmd-7"))).json()[
            "messages"][0]["id"]
        await harness.idle()
        statuses = [s for s in harness.transport.statuses() if s["id"] == wamid]
        assert sorted(s["status"] for s in statuses) == ["delivered", "read", "sent"]
        assert {s["recipient_id"] for s in statuses} == {CUSTOMER}
        assert {s["biz_opaque_callback_data"] for s in statuses} == {"cmd-7"}
        assert {s["status"] for s in statuses if "pricing" in s} == {"sent", "delivered"}

    async def test_a_refused_message_has_no_status(self, harness: Harness) -> None:
        assert code(await harness.send(template("unknown"))) == 132001
        await harness.idle()
        assert harness.transport.statuses() == []


class TestFaults:
    async def fault(self, harness: Harness, **fault: Any) -> None:
        response = await harness.http.post(f"/_sandbox/faults/{NUMBER}", json=fault)
        assert response.status_code == 201, response.text

    async def test_the_next_n_requests_fail_then_the_number_recovers(
        self, harness: Harness
    ) -> None:
        await self.fault(harness, kind="server_error", count=2, http_status=503)
        answers = [await harness.send(template()) for _ in range(3)]
        assert [r.status_code for r in answers] == [503, 503, 200]
        assert code(answers[0]) == 1

    @pytest.mark.parametrize(("fault", "status", "expected"), [
        ({"kind": "unknown_error"}, 500, 131000),
        ({"kind": "rate_limit"}, 429, 130429),
        ({"kind": "error", "code": 131026}, 400, 131026),
        ({"kind": "error", "code": 131057}, 503, 131057),
        ({"kind": "error", "code": 190}, 401, 190),
        ({"kind": "error", "code": 131000, "http_status": 502}, 502, 131000),
    ])
    async def test_error_faults_answer_metas_envelope(
        self, harness: Harness, fault: dict[str, Any], status: int, expected: int
    ) -> None:
        await self.fault(harness, **fault)
        response = await harness.send(template())
        assert (response.status_code, code(response)) == (status, expected)

    async def test_faults_are_per_number(self, harness: Harness) -> None:
        other = CHANNEL.model_copy(update={"phone_number_id": "100000000000002"})
        put = await harness.http.put("/_sandbox/channels", json=other.to_document())
        assert put.status_code == 200
        await self.fault(harness, kind="unknown_error")
        other_url = "/v25.0/100000000000002/messages"
        assert (await harness.send(template(), url=other_url)).status_code == 200
        assert (await harness.send(template())).status_code == 500

    async def test_a_timeout_that_was_accepted_still_goes_out(self, harness: Harness) -> None:
        await self.fault(harness, kind="timeout", seconds=0.01, accept=True)
        response = await harness.send(template())
        assert response.status_code == 504
        (record,) = await received(harness)
        assert record["wamid"] is not None
        assert record["fault"] == "timeout"
        await harness.idle()
        assert {s["id"] for s in harness.transport.statuses()} == {record["wamid"]}

    async def test_a_timeout_that_was_not_accepted_sends_nothing(self, harness: Harness) -> None:
        await self.fault(harness, kind="timeout", seconds=0.01)
        assert (await harness.send(template())).status_code == 504
        (record,) = await received(harness)
        assert record["wamid"] is None
        await harness.idle()
        assert harness.transport.statuses() == []

    async def test_a_slow_request_is_then_handled_normally(self, harness: Harness) -> None:
        await self.fault(harness, kind="slow", seconds=0.01)
        assert code(await harness.send(template("unknown"))) == 132001
        (record,) = await received(harness)
        assert record["fault"] == "slow"

    async def test_status_failed_accepts_then_reports_failed(self, harness: Harness) -> None:
        await self.fault(harness, kind="status_failed", code=131049)
        wamid = (await harness.send(template())).json()["messages"][0]["id"]
        await harness.idle()
        (status,) = harness.transport.statuses()
        assert (status["id"], status["status"]) == (wamid, "failed")
        assert status["errors"][0]["code"] == 131049

    async def test_faults_can_be_listed_and_cleared(self, harness: Harness) -> None:
        await self.fault(harness, kind="rate_limit", count=3)
        listed = (await harness.http.get("/_sandbox/faults")).json()
        assert listed == {NUMBER: [{"kind": "rate_limit", "count": 3, "code": None,
                                    "http_status": None, "seconds": None, "accept": False}]}
        assert (await harness.http.delete(f"/_sandbox/faults/{NUMBER}")).status_code == 204
        assert (await harness.send(template())).status_code == 200

    async def test_a_fault_for_an_unknown_number_is_refused(self, harness: Harness) -> None:
        response = await harness.http.post("/_sandbox/faults/999", json={"kind": "slow"})
        assert response.status_code == 404


async def received(harness: Harness, **params: Any) -> list[dict[str, Any]]:
    response = await harness.http.get("/_sandbox/received", params=params)
    items: list[dict[str, Any]] = response.json()["items"]
    return items


class TestReceived:
    async def test_every_request_is_recorded_with_its_answer(self, harness: Harness) -> None:
        await harness.send(template("unknown"))
        accepted = (await harness.send(template())).json()["messages"][0]["id"]
        await harness.send(text(), headers={})
        items = await received(harness)
        assert [(i["seq"], i["http_status"], i["error_code"]) for i in items] == [
            (1, 400, 132001), (2, 200, None), (3, 401, 190)]
        assert items[1]["wamid"] == accepted
        assert items[1]["body"] == template()
        assert items[0]["at"] == harness.clock.now.isoformat()

    async def test_filters_by_number_acceptance_and_position(self, harness: Harness) -> None:
        await harness.send(template("unknown"))
        await harness.send(template())
        await harness.send(template())
        assert [i["seq"] for i in await received(harness, accepted_only=True)] == [2, 3]
        assert [i["seq"] for i in await received(harness, after_seq=2)] == [3]
        assert await received(harness, phone_number_id="other") == []

    async def test_reset_forgets_requests_windows_and_the_clock(self, harness: Harness) -> None:
        inbound = await harness.customer_says()
        await harness.send(text())
        await harness.http.post("/_sandbox/clock/advance", json={"seconds": 60})
        assert (await harness.http.post("/_sandbox/reset")).status_code == 204
        assert await received(harness) == []
        assert (await harness.http.get("/_sandbox/clock")).json()["offset_seconds"] == 0
        assert await failure(harness, await harness.send(text())) == 131047
        read = {"messaging_product": "whatsapp", "status": "read",
                "message_id": inbound["wamid"]}
        assert code(await harness.send(read)) == 100

    async def test_stats_count_outcomes(self, harness: Harness) -> None:
        await harness.send(template("unknown"))
        await harness.send(template())
        stats = (await harness.http.get("/_sandbox/stats")).json()
        assert stats["outcomes"] == {"132001": 1, "accepted": 1}
        assert stats["accepted_by_number"] == {NUMBER: 1}


class TestCustomer:
    async def test_the_message_is_posted_as_a_webhook_and_reported(
        self, harness: Harness
    ) -> None:
        result = await harness.customer_says("Where is my order?")
        assert result["webhook_status"] == 200
        (posted,) = harness.transport.payloads()
        assert posted == result["payload"]
        message = posted["entry"][0]["changes"][0]["value"]["messages"][0]
        assert (message["id"], message["from"], message["text"]) == (
            result["wamid"], CUSTOMER, {"body": "Where is my order?"})

    async def test_a_refused_webhook_is_reported_and_retried(self, harness: Harness) -> None:
        harness.transport.answers = [503]
        result = await harness.customer_says()
        assert result["webhook_status"] == 503
        await harness.idle()
        assert len(harness.transport.bodies) == 2

    @pytest.mark.parametrize(("body", "status"), [
        ({"phone_number_id": "999", "from": CUSTOMER}, 404),
        ({"phone_number_id": NUMBER, "from": CUSTOMER, "type": "reaction"}, 400),
        ({"phone_number_id": NUMBER}, 422),
    ])
    async def test_unusable_requests_are_refused(self, harness: Harness, body: dict[str, Any],
                                                 status: int) -> None:
        response = await harness.http.post("/_sandbox/customer-messages", json=body)
        assert response.status_code == status

    async def test_a_bad_behaviour_change_is_refused(self, harness: Harness) -> None:
        response = await harness.http.patch("/_sandbox/behaviour",
                                            json={"duplicate_probability": 2})
        assert response.status_code == 400
        response = await harness.http.patch("/_sandbox/behaviour", json={"nope": 1})
        assert response.status_code == 400
