"""The real app on in-memory fakes (ASGI, no sockets): auth, tenant walls, errors, pre-checks."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from services.inbox_api.main import create_app
from services.inbox_api.settings import InboxApiSettings
from shared.events import SendTemplate, SendText
from tests.unit.inbox_api.fakes import (
    ACME_KEY,
    GLOBEX_KEY,
    NOW,
    REVOKED_KEY,
    Wiring,
    WithState,
)

OPEN = "1001:16505550123"
CLOSED = "1001:447700900001"
GLOBEX_CONVERSATION = "1002:16505550999"


class TestAuthentication:
    async def test_no_credential_is_401(self, http: httpx.AsyncClient) -> None:
        response = await http.get("/api/v1/conversations", headers={"Authorization": ""})
        assert response.status_code == 401
        assert response.json()["error"] == "unauthorized"

    @pytest.mark.parametrize("header", [f"Bearer wai_{'x' * 43}", f"Bearer {REVOKED_KEY}",
                                        "Bearer nonsense"])
    async def test_wrong_or_revoked_key_is_401(self, http: httpx.AsyncClient,
                                               header: str) -> None:
        response = await http.get("/api/v1/me", headers={"Authorization": header})
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_credential"

    async def test_a_non_bearer_header_is_401(self, http: httpx.AsyncClient) -> None:
        response = await http.get("/api/v1/me", headers={"Authorization": f"Basic {ACME_KEY}"})
        assert response.status_code == 401

    async def test_session_cookie_works_until_sign_out(self, wiring: Wiring) -> None:
        app = WithState(create_app(InboxApiSettings()), wiring.state)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://inbox") as browser:
            assert (await browser.post("/api/v1/session",
                                       json={"api_key": ACME_KEY})).status_code == 204
            assert (await browser.get("/api/v1/me")).json()["agent_id"] == "ana"
            assert all(digest_ != ACME_KEY for digest_ in wiring.repository.sessions)
            assert (await browser.delete("/api/v1/session")).status_code == 204
            assert (await browser.get("/api/v1/me")).status_code == 401

    async def test_signing_in_with_a_wrong_key_is_401(self, http: httpx.AsyncClient) -> None:
        response = await http.post("/api/v1/session", json={"api_key": "wai_wrong"})
        assert response.status_code == 401


class TestTenantWall:
    async def test_list_shows_only_the_callers_tenant(self, http: httpx.AsyncClient) -> None:
        items = (await http.get("/api/v1/conversations")).json()["items"]
        assert [c["id"] for c in items] == [OPEN, CLOSED]

    @pytest.mark.parametrize(("method", "path", "body"), [
        ("GET", f"/api/v1/conversations/{GLOBEX_CONVERSATION}", None),
        ("GET", f"/api/v1/conversations/{GLOBEX_CONVERSATION}/messages", None),
        ("POST", f"/api/v1/conversations/{GLOBEX_CONVERSATION}/messages",
         {"kind": "text", "text": "hi"}),
        ("POST", f"/api/v1/conversations/{GLOBEX_CONVERSATION}/read", {}),
        ("POST", f"/api/v1/conversations/{GLOBEX_CONVERSATION}/reactions",
         {"message_id": "wamid.x", "emoji": "👍"}),
        ("POST", f"/api/v1/conversations/{GLOBEX_CONVERSATION}/status", {"status": "resolved"}),
        ("POST", f"/api/v1/conversations/{GLOBEX_CONVERSATION}/assignee", {"assignee_id": None}),
        ("POST", "/api/v1/conversations", {"business_phone_number_id": "1002",
                                           "customer_wa_id": "16505550999",
                                           "template_name": "hello_world"}),
    ])
    async def test_another_tenants_ids_are_404(self, http: httpx.AsyncClient, wiring: Wiring,
                                               method: str, path: str,
                                               body: dict[str, object] | None) -> None:
        response = await http.request(method, path, json=body)
        assert response.status_code == 404
        assert set(response.json()) >= {"error", "detail"}
        assert wiring.publisher.published == []


class TestValidation:
    async def test_a_bad_field_is_422_naming_it(self, http: httpx.AsyncClient) -> None:
        response = await http.post(f"/api/v1/conversations/{OPEN}/messages",
                                   json={"kind": "text", "text": ""})
        assert response.status_code == 422
        body = response.json()
        assert body["error"] == "validation_failed"
        assert body["field"] == "text.text"

    async def test_malformed_json_is_400(self, http: httpx.AsyncClient) -> None:
        response = await http.post(f"/api/v1/conversations/{OPEN}/messages", content=b"{",
                                   headers={"Content-Type": "application/json"})
        assert response.status_code == 400
        assert response.json()["error"] == "malformed_json"

    async def test_a_bad_cursor_is_400(self, http: httpx.AsyncClient) -> None:
        response = await http.get("/api/v1/conversations", params={"cursor": "!!"})
        assert response.status_code == 400
        assert response.json()["field"] == "cursor"

    async def test_limit_out_of_range_is_422(self, http: httpx.AsyncClient) -> None:
        response = await http.get("/api/v1/conversations", params={"limit": 0})
        assert response.status_code == 422
        assert response.json()["field"] == "limit"

    async def test_unknown_route_is_404_in_the_shape(self, http: httpx.AsyncClient) -> None:
        response = await http.get("/api/v1/nope")
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"


class TestSendPreCheck:
    async def test_free_form_inside_the_window_is_queued(self, http: httpx.AsyncClient,
                                                         wiring: Wiring) -> None:
        response = await http.post(f"/api/v1/conversations/{OPEN}/messages",
                                   json={"kind": "text", "text": "hello"},
                                   headers={"Idempotency-Key": "k1"})
        assert response.status_code == 202
        [command] = wiring.publisher.published
        assert isinstance(command, SendText)
        assert command.command_id == response.json()["command_id"]
        assert command.actor_id == "ana"
        assert command.customer_wa_id == "16505550123"

    async def test_free_form_after_the_window_is_409_and_publishes_nothing(
            self, http: httpx.AsyncClient, wiring: Wiring) -> None:
        response = await http.post(f"/api/v1/conversations/{CLOSED}/messages",
                                   json={"kind": "text", "text": "hello"})
        assert response.status_code == 409
        assert response.json()["reason"] == "window_expired"
        assert response.json()["hint"] == "Send an approved template instead."
        assert wiring.publisher.published == []

    @pytest.mark.parametrize(("path", "body"), [
        ("messages", {"kind": "text", "text": "hello"}),
        ("reactions", {"message_id": "wamid.x", "emoji": "👍"}),
    ])
    async def test_free_form_after_meta_closed_the_window_is_409_with_the_hint(
            self, http: httpx.AsyncClient, wiring: Wiring, path: str,
            body: dict[str, object]) -> None:
        # Meta answered 131047 after the customer's last message (5 minutes ago): closed,
        # though 24 hours have not passed by our clock.
        wiring.repository.conversation_docs[OPEN]["window_closed_at"] = NOW - timedelta(
            minutes=1)
        view = (await http.get(f"/api/v1/conversations/{OPEN}")).json()
        assert view["window"]["open"] is False
        response = await http.post(f"/api/v1/conversations/{OPEN}/{path}", json=body)
        assert response.status_code == 409
        assert response.json()["reason"] == "window_expired"
        assert response.json()["hint"] == "Send an approved template instead."
        assert wiring.publisher.published == []

    async def test_metas_report_before_the_customers_last_message_leaves_it_open(
            self, http: httpx.AsyncClient, wiring: Wiring) -> None:
        wiring.repository.conversation_docs[OPEN]["window_closed_at"] = NOW - timedelta(
            minutes=6)
        assert (await http.get(f"/api/v1/conversations/{OPEN}")).json()["window"]["open"]
        response = await http.post(f"/api/v1/conversations/{OPEN}/messages",
                                   json={"kind": "text", "text": "hello"})
        assert response.status_code == 202

    async def test_an_unapproved_template_is_409(self, http: httpx.AsyncClient) -> None:
        response = await http.post(f"/api/v1/conversations/{CLOSED}/messages", json={
            "kind": "template", "template_name": "paused_one"})
        assert response.status_code == 409
        assert response.json()["error"] == "template_not_approved"

    async def test_an_approved_template_goes_out_when_the_window_is_closed(
            self, http: httpx.AsyncClient, wiring: Wiring) -> None:
        response = await http.post(f"/api/v1/conversations/{CLOSED}/messages", json={
            "kind": "template", "template_name": "order_update",
            "variables": {"1": "Sam", "2": "A1"}})
        assert response.status_code == 202
        [command] = wiring.publisher.published
        assert isinstance(command, SendTemplate)
        assert command.rendered_text == "Hi Sam, order A1 shipped."

    async def test_an_extra_variable_is_422_naming_it(self, http: httpx.AsyncClient) -> None:
        response = await http.post(f"/api/v1/conversations/{CLOSED}/messages", json={
            "kind": "template", "template_name": "order_update",
            "variables": {"1": "Sam", "2": "A1", "3": "x"}})
        assert response.status_code == 422
        assert response.json()["field"] == "variables.3"

    async def test_first_contact_needs_a_template(self, http: httpx.AsyncClient,
                                                  wiring: Wiring) -> None:
        opened = await http.post("/api/v1/conversations", json={
            "business_phone_number_id": "1001", "customer_wa_id": "+44 7700 900555",
            "template_name": "hello_world"})
        assert opened.status_code == 202
        assert opened.json()["conversation_id"] == "1001:447700900555"
        assert wiring.publisher.published[0].conversation_id == "1001:447700900555"

    async def test_same_idempotency_key_gives_the_same_command_id(
            self, http: httpx.AsyncClient) -> None:
        ids = [(await http.post(f"/api/v1/conversations/{OPEN}/read", json={},
                                headers={"Idempotency-Key": "same"})).json()["command_id"]
               for _ in range(2)]
        assert ids[0] == ids[1]

    async def test_assign_to_me_names_the_caller(self, http: httpx.AsyncClient,
                                                 wiring: Wiring) -> None:
        response = await http.post(f"/api/v1/conversations/{OPEN}/assignee",
                                   json={"assignee_id": "me"})
        assert response.status_code == 202
        assert getattr(wiring.publisher.published[0], "assignee_id", None) == "ana"


class TestReads:
    async def test_filters_and_search(self, http: httpx.AsyncClient) -> None:
        found = (await http.get("/api/v1/conversations", params={"q": "4477"})).json()
        assert [c["id"] for c in found["items"]] == [CLOSED]
        mine = (await http.get("/api/v1/conversations", params={"filter": "mine"})).json()
        assert mine["items"] == []

    async def test_keyset_pages_cover_the_list_once(self, http: httpx.AsyncClient) -> None:
        first = (await http.get("/api/v1/conversations", params={"limit": 1})).json()
        second = (await http.get("/api/v1/conversations",
                                 params={"limit": 1, "cursor": first["next_cursor"]})).json()
        assert [first["items"][0]["id"], second["items"][0]["id"]] == [OPEN, CLOSED]
        assert second["next_cursor"] is None

    async def test_templates_of_the_tenant(self, http: httpx.AsyncClient) -> None:
        items = (await http.get("/api/v1/templates", params={"status": "approved"})).json()
        assert {t["name"] for t in items["items"]} == {"hello_world", "order_update"}
        order = next(t for t in items["items"] if t["name"] == "order_update")
        assert [p["key"] for p in order["parameters"]] == ["1", "2"]

    async def test_media_is_fetched_with_the_tenants_token(self, http: httpx.AsyncClient,
                                                           wiring: Wiring) -> None:
        wiring.repository.messages.append({
            "_id": f"{OPEN}/w1", "tenant_id": "acme", "conversation_id": OPEN,
            "business_phone_number_id": "1001", "wamid": "w1", "visible": True,
            "sort_key": "1", "content": {"id": "555"}, "message_type": "image"})
        response = await http.get("/api/v1/media/555")
        assert response.status_code == 200
        assert response.content == b"media:555"
        assert wiring.media.tokens == ["acme-token"]
        other = await http.get("/api/v1/media/555",
                               headers={"Authorization": f"Bearer {GLOBEX_KEY}"})
        assert other.status_code == 404
