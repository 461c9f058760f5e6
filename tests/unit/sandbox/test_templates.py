"""The sandbox's template management: Meta's endpoints, review webhooks, status control."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from sandbox.catalog import TemplateSpec
from sandbox.main import create_app
from sandbox.service import Sandbox
from sandbox.settings import SandboxSettings
from sandbox.template_listing import (
    SCORE_EPOCH,
    decode_cursor,
    encode_cursor,
    page,
    parse_fields,
    template_json,
)
from tests.unit.sandbox.fakes import FakeTransport, ManualClock, ManualMonotonic, WithState
from tests.unit.sandbox.test_app import AUTH, CHANNEL, CUSTOMER, NUMBER, TEMPLATES

WABA = CHANNEL.waba_id
TEMPLATES_URL = f"/v25.0/{WABA}/message_templates"
NOW = 1772366400  # the harness clock (fakes.START)
PYWA_SUMMARY = ("total_count,message_template_count,message_template_limit,"
                "are_translations_complete")


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
        # Meta shows example values for the variables; configured templates get samples.
        assert item["components"] == [{"type": "BODY", "text": "Hi {{1}}, order {{2}}",
                                       "example": {"body_text": [["Sample 1", "Sample 2"]]}}]

    async def test_needs_a_token_of_the_account(self, harness: Harness) -> None:
        response = await harness.http.get(TEMPLATES_URL, headers={"Authorization": "Bearer x"})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == 190

    async def test_an_unknown_account_is_metas_error_100(self, harness: Harness) -> None:
        response = await harness.http.get("/v25.0/999/message_templates", headers=AUTH)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == 100

    async def test_quality_score_has_a_score_and_a_date(self, harness: Harness) -> None:
        listed = (await harness.http.get(TEMPLATES_URL, headers=AUTH)).json()["data"]
        assert {t["quality_score"]["score"] for t in listed} == {"UNKNOWN"}
        assert {t["quality_score"]["date"] for t in listed} == {SCORE_EPOCH}
        await harness.http.post("/_sandbox/template-quality", json={
            "waba_id": WABA, "name": "hello_world", "score": "GREEN"})
        listed = (await harness.http.get(TEMPLATES_URL, headers=AUTH,
                                         params={"name": "hello_world"})).json()["data"]
        assert listed[0]["quality_score"] == {"score": "GREEN", "date": NOW}

    async def test_fields_are_only_those_asked_and_the_id(self, harness: Harness) -> None:
        listed = (await harness.http.get(TEMPLATES_URL, headers=AUTH, params={
            "fields": "name,status,quality_score{score},components.limit(1),nope"})).json()
        assert [set(t) for t in listed["data"]] == [
            {"id", "name", "status", "quality_score", "components"}] * 2

    async def test_summary_counts_what_the_filters_match(self, harness: Harness) -> None:
        only = (await harness.http.get(TEMPLATES_URL, headers=AUTH, params={
            "summary": "total_count", "status": "APPROVED", "limit": 1})).json()
        assert only["summary"] == {"total_count": 2}
        assert len(only["data"]) == 1
        every = (await harness.http.get(TEMPLATES_URL, headers=AUTH, params={
            "summary": PYWA_SUMMARY, "category": "MARKETING"})).json()
        assert every["summary"] == {"total_count": 1, "message_template_count": 2,
                                    "message_template_limit": 250,
                                    "are_translations_complete": True}
        assert "summary" not in (await harness.http.get(TEMPLATES_URL, headers=AUTH)).json()

    async def test_filters_take_metas_comma_separated_lists(self, harness: Harness) -> None:
        await harness.http.post("/_sandbox/template-status", json={
            "waba_id": WABA, "name": "hello_world", "event": "PAUSED"})

        async def names(**params: str) -> list[str]:
            response = await harness.http.get(TEMPLATES_URL, headers=AUTH, params=params)
            return [t["name"] for t in response.json()["data"]]

        assert await names(status="APPROVED,PAUSED") == ["hello_world", "order_update"]
        assert await names(status="paused") == ["hello_world"]
        assert await names(category="UTILITY,AUTHENTICATION") == ["hello_world"]
        assert await names(language="en_US", name="ORDER") == ["order_update"]
        assert await names(content="order {{2}}") == ["order_update"]
        assert await names(quality_score="RED") == []

    async def test_the_next_link_repeats_the_query(self, harness: Harness) -> None:
        first = (await harness.http.get(TEMPLATES_URL, headers=AUTH, params={
            "limit": 1, "fields": "name", "summary": "total_count"})).json()
        second = (await harness.http.get(first["paging"]["next"], headers=AUTH)).json()
        assert second["data"] == [{"id": second["data"][0]["id"], "name": "order_update"}]
        assert second["summary"] == {"total_count": 2}
        back = (await harness.http.get(second["paging"]["previous"], headers=AUTH)).json()
        assert [t["name"] for t in back["data"]] == ["hello_world"]

    async def test_a_bad_limit_is_metas_error_100(self, harness: Harness) -> None:
        for limit in ("0", "x", "1001"):
            response = await harness.http.get(TEMPLATES_URL, headers=AUTH,
                                              params={"limit": limit})
            assert response.status_code == 400
            assert response.json()["error"]["code"] == 100

    def test_named_variables_get_named_examples(self) -> None:
        spec = TemplateSpec(name="n", body_text="Hi {{first_name}}", parameter_format="named",
                            components=[{"type": "HEADER", "format": "TEXT",
                                         "text": "For {{first_name}}"},
                                        {"type": "BODY", "text": "Hi {{first_name}}"}])
        header, body = template_json(spec)["components"]
        assert header["example"] == {"header_text_named_params": [
            {"param_name": "first_name", "example": "Sample first_name"}]}
        assert body["example"] == {"body_text_named_params": [
            {"param_name": "first_name", "example": "Sample first_name"}]}

    def test_reads_the_top_level_names_of_a_fields_list(self) -> None:
        assert parse_fields("id, name,quality_score{score,date},components.limit(2){type}") == {
            "id", "name", "quality_score", "components"}

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
        assert "rejection_info" not in event  # Meta details INVALID_FORMAT only
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

    async def test_an_invalid_format_rejection_carries_its_details(
            self, harness: Harness) -> None:
        await harness.http.put("/_sandbox/template-review", json={"reject": ["bad_vars"]})
        await harness.http.post(TEMPLATES_URL, headers=AUTH, json=definition("bad_vars"))
        await harness.idle()
        [event] = harness.template_events()
        assert (event["event"], event["reason"]) == ("REJECTED", "INVALID_FORMAT")
        assert set(event["rejection_info"]) == {"reason", "recommendation"}

    async def test_pauses_say_which_pause_and_reinstating_unpauses(
            self, harness: Harness) -> None:
        for event in ("PAUSED", "REINSTATED", "PAUSED"):
            await harness.http.post("/_sandbox/template-status", json={
                "waba_id": WABA, "name": "order_update", "event": event})
        await harness.idle()
        first, unpause, second = harness.template_events()
        assert first["other_info"]["title"] == "FIRST_PAUSE"
        assert "3 hours" in first["other_info"]["description"]
        assert first["reason"] == "NONE"
        assert unpause["other_info"] == {
            "title": "UNPAUSE",
            "description": "Your WhatsApp message template has been unpaused."}
        assert second["other_info"]["title"] == "SECOND_PAUSE"
        assert "6 hours" in second["other_info"]["description"]

    async def test_disabling_carries_the_date_and_why(self, harness: Harness) -> None:
        await harness.http.post("/_sandbox/template-status", json={
            "waba_id": WABA, "name": "order_update", "event": "DISABLED"})
        await harness.idle()
        [event] = harness.template_events()
        assert event["disable_info"] == {"disable_date": NOW}
        assert event["other_info"]["title"] == "DISABLED"
        assert event["time"] == NOW

    async def test_the_control_request_may_name_the_other_info(self, harness: Harness) -> None:
        await harness.http.post("/_sandbox/template-status", json={
            "waba_id": WABA, "name": "order_update", "event": "PAUSED",
            "title": "RATE_LIMITING_PAUSE", "description": "Too many sends."})
        await harness.idle()
        [event] = harness.template_events()
        assert event["other_info"] == {"title": "RATE_LIMITING_PAUSE",
                                       "description": "Too many sends."}

    async def test_an_approval_has_no_other_info(self, harness: Harness) -> None:
        await harness.http.post(TEMPLATES_URL, headers=AUTH, json=definition())
        await harness.idle()
        [event] = harness.template_events()
        assert not {"other_info", "disable_info", "rejection_info"} & set(event)

    async def test_an_unknown_template_is_404(self, harness: Harness) -> None:
        response = await harness.http.post("/_sandbox/template-status", json={
            "waba_id": WABA, "name": "nope", "event": "PAUSED"})
        assert response.status_code == 404
