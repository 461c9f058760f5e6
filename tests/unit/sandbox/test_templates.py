"""The sandbox's template management: Meta's endpoints, review webhooks, status control."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from sandbox.main import create_app
from sandbox.service import Sandbox
from sandbox.settings import SandboxSettings
from sandbox.template_admin import decode_cursor, encode_cursor, page
from tests.unit.sandbox.fakes import FakeTransport, ManualClock, ManualMonotonic, WithState
from tests.unit.sandbox.test_app import AUTH, CHANNEL, CUSTOMER, NUMBER, TEMPLATES

WABA = CHANNEL.waba_id
TEMPLATES_URL = f"/v25.0/{WABA}/message_templates"


def definition(name: str = "order_ready", body: str = "Hi {{1}}, your order is ready.",
               **extra: Any) -> dict[str, Any]:
    return {"name": name, "language": "en_US", "category": "UTILITY",
            "components": [{"type": "BODY", "text": body,
                            "example": {"body_text": [["Ana"]]}}], **extra}


@dataclass
class Harness:
    http: httpx.AsyncClient
    sandbox: Sandbox
    transport: FakeTransport

    async def idle(self) -> None:
        assert await self.sandbox.dispatcher.wait_idle(timeout=10)

    def template_events(self) -> list[dict[str, Any]]:
        return [change["value"] | {"field": change["field"], "time": entry["time"]}
                for payload in self.transport.payloads() for entry in payload["entry"]
                for change in entry["changes"] if change["field"].startswith("message_template")]

    async def send_template(self, name: str, variables: list[str]) -> httpx.Response:
        return await self.http.post(f"/v25.0/{NUMBER}/messages", headers=AUTH, json={
            "messaging_product": "whatsapp", "to": f"+{CUSTOMER}", "type": "template",
            "template": {"name": name, "language": {"code": "en_US"}, "components": [
                {"type": "body", "parameters": [{"type": "text", "text": v}
                                                for v in variables]}]}})


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    settings = SandboxSettings(channels=[CHANNEL], templates=TEMPLATES, webhook_url=None,
                               template_review_seconds=0, webhook_batch_interval_seconds=0.001)
    transport = FakeTransport()
    app = create_app(settings, clock=ManualClock(), monotonic=ManualMonotonic(),
                     webhook_transport=transport)
    async with app.api.router.lifespan_context(app.api) as state:
        assert state is not None
        asgi = httpx.ASGITransport(app=WithState(app, dict(state)))
        async with httpx.AsyncClient(transport=asgi, base_url="http://sandbox") as http:
            yield Harness(http, state["sandbox"], transport)


class TestListing:
    async def test_lists_the_accounts_templates_in_pages(self, harness: Harness) -> None:
        first = (await harness.http.get(TEMPLATES_URL, headers=AUTH,
                                        params={"limit": 1})).json()
        assert [t["name"] for t in first["data"]] == ["hello_world"]
        assert "next" in first["paging"]
        second = (await harness.http.get(TEMPLATES_URL, headers=AUTH, params={
            "limit": 1, "after": first["paging"]["cursors"]["after"]})).json()
        assert [t["name"] for t in second["data"]] == ["order_update"]
        assert "next" not in second["paging"]
        item = second["data"][0]
        assert item["status"] == "APPROVED"
        assert item["category"] == "MARKETING"
        assert item["components"] == [{"type": "BODY", "text": "Hi {{1}}, order {{2}}"}]

    async def test_needs_a_token_of_the_account(self, harness: Harness) -> None:
        response = await harness.http.get(TEMPLATES_URL, headers={"Authorization": "Bearer x"})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == 190

    async def test_an_unknown_account_is_metas_error_100(self, harness: Harness) -> None:
        response = await harness.http.get("/v25.0/999/message_templates", headers=AUTH)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == 100

    def test_cursors_page_backwards_too(self) -> None:
        items = [{"n": i} for i in range(5)]
        second = page(items, 2, encode_cursor(1), None, "u")
        assert second["data"] == [{"n": 2}, {"n": 3}]
        back = page(items, 2, None, second["paging"]["cursors"]["before"], "u")
        assert back["data"] == [{"n": 0}, {"n": 1}]
        assert decode_cursor(encode_cursor(7)) == 7


class TestCreateAndReview:
    async def test_created_template_is_pending_then_approved_by_webhook(
            self, harness: Harness) -> None:
        response = await harness.http.post(TEMPLATES_URL, headers=AUTH, json=definition())
        assert response.status_code == 200, response.text
        created = response.json()
        assert created["status"] == "PENDING"
        assert created["category"] == "UTILITY"
        await harness.idle()
        [event] = harness.template_events()
        assert event["field"] == "message_template_status_update"
        assert event["event"] == "APPROVED"
        assert event["message_template_id"] == int(created["id"])
        assert event["message_template_name"] == "order_ready"
        # Now in the send-time catalog: sendable with its one variable.
        assert (await harness.send_template("order_ready", ["Ana"])).status_code == 200
        assert (await harness.send_template("order_ready", [])).json()["error"]["code"] == 132000

    async def test_a_name_on_the_reject_list_is_rejected_with_the_reason(
            self, harness: Harness) -> None:
        plan = await harness.http.put("/_sandbox/template-review", json={
            "reject": ["spammy"], "reason": "PROMOTIONAL"})
        assert plan.status_code == 200
        await harness.http.post(TEMPLATES_URL, headers=AUTH, json=definition("spammy"))
        await harness.idle()
        [event] = harness.template_events()
        assert (event["event"], event["reason"]) == ("REJECTED", "PROMOTIONAL")
        listed = (await harness.http.get(TEMPLATES_URL, headers=AUTH,
                                         params={"name": "spammy"})).json()["data"]
        assert listed[0]["rejected_reason"] == "PROMOTIONAL"
        assert (await harness.send_template("spammy", ["Ana"])).json()["error"]["code"] == 132001

    async def test_the_same_name_and_language_twice_is_refused(self, harness: Harness) -> None:
        await harness.http.post(TEMPLATES_URL, headers=AUTH, json=definition())
        again = await harness.http.post(TEMPLATES_URL, headers=AUTH, json=definition())
        assert again.status_code == 400
        assert again.json()["error"]["code"] == 100

    async def test_a_bad_name_is_metas_invalid_parameter(self, harness: Harness) -> None:
        response = await harness.http.post(TEMPLATES_URL, headers=AUTH,
                                           json=definition("Bad Name"))
        assert response.status_code == 400
        assert "name" in response.json()["error"]["error_data"]["details"]


class TestEditAndDelete:
    async def test_an_approved_template_is_edited_once_per_day(self, harness: Harness) -> None:
        created = (await harness.http.post(TEMPLATES_URL, headers=AUTH,
                                           json=definition())).json()
        await harness.idle()
        edit = {"components": [{"type": "BODY", "text": "Hello {{1}}, it is ready.",
                                "example": {"body_text": [["Ana"]]}}]}
        first = await harness.http.post(f"/v25.0/{created['id']}", headers=AUTH, json=edit)
        assert first.json() == {"success": True}
        await harness.idle()  # approved again
        second = await harness.http.post(f"/v25.0/{created['id']}", headers=AUTH, json=edit)
        assert second.status_code == 400
        assert "24 hours" in second.json()["error"]["error_data"]["details"]

    async def test_a_pending_template_cannot_be_edited(self, harness: Harness) -> None:
        await harness.http.put("/_sandbox/template-review", json={"delay_seconds": 60})
        created = (await harness.http.post(TEMPLATES_URL, headers=AUTH,
                                           json=definition())).json()
        response = await harness.http.post(f"/v25.0/{created['id']}", headers=AUTH,
                                           json={"components": definition()["components"]})
        assert response.status_code == 400

    async def test_delete_hides_the_template_and_stops_sends(self, harness: Harness) -> None:
        response = await harness.http.delete(TEMPLATES_URL, headers=AUTH,
                                             params={"name": "order_update"})
        assert response.json() == {"success": True}
        names = [t["name"] for t in (await harness.http.get(TEMPLATES_URL,
                                                            headers=AUTH)).json()["data"]]
        assert names == ["hello_world"]
        refused = await harness.send_template("order_update", ["a", "b"])
        assert refused.json()["error"]["code"] == 132001


class TestStatusControl:
    async def test_disabling_posts_the_webhook_and_refuses_sends(self, harness: Harness) -> None:
        response = await harness.http.post("/_sandbox/template-status", json={
            "waba_id": WABA, "name": "order_update", "event": "DISABLED"})
        assert response.status_code == 200
        await harness.idle()
        [event] = harness.template_events()
        assert event["event"] == "DISABLED"
        refused = await harness.send_template("order_update", ["a", "b"])
        assert refused.json()["error"]["code"] == 132016

    async def test_reinstated_is_sendable_again(self, harness: Harness) -> None:
        for event in ("PAUSED", "REINSTATED"):
            await harness.http.post("/_sandbox/template-status", json={
                "waba_id": WABA, "name": "order_update", "event": event})
        assert (await harness.send_template("order_update", ["a", "b"])).status_code == 200

    async def test_quality_change_posts_its_webhook(self, harness: Harness) -> None:
        await harness.http.post("/_sandbox/template-quality", json={
            "waba_id": WABA, "name": "hello_world", "score": "RED"})
        await harness.idle()
        [event] = harness.template_events()
        assert event["field"] == "message_template_quality_update"
        assert (event["previous_quality_score"], event["new_quality_score"]) == ("UNKNOWN",
                                                                                "RED")

    async def test_an_unknown_template_is_404(self, harness: Harness) -> None:
        response = await harness.http.post("/_sandbox/template-status", json={
            "waba_id": WABA, "name": "nope", "event": "PAUSED"})
        assert response.status_code == 404
