"""The acceptance on the real stack: Kafka, MongoDB, every service and the sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import httpx
import pytest

from tests.integration.inbox_api.stack import CUSTOMER, RunningInbox

pytestmark = pytest.mark.integration

T = TypeVar("T")
DEADLINE_SECONDS = 40.0


async def eventually(probe: Callable[[], Awaitable[T | None]],
                     deadline: float = DEADLINE_SECONDS) -> T:
    """Poll ``probe`` until it returns something (a generous deadline, not a timed check)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while True:
        result = await probe()
        if result is not None:
            return result
        if loop.time() > end:
            raise AssertionError("the expected state was never reached")
        await asyncio.sleep(0.1)


async def thread(http: httpx.AsyncClient, cid: str) -> list[dict[str, Any]]:
    response = await http.get(f"/api/v1/conversations/{cid}/messages")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


class TestInboundAndReply:
    async def test_customer_message_appears_in_list_and_thread(self,
                                                               inbox: RunningInbox) -> None:
        await inbox.customer_says("Hi, where is my order?", name="Ana Souza")
        async with inbox.client() as http:
            page = (await http.get("/api/v1/conversations")).json()
            [item] = page["items"]
            assert item["id"] == inbox.conversation_id()
            customer = item["customer"]
            assert (customer["wa_id"], customer["name"]) == (CUSTOMER, "Ana Souza")
            assert customer["display_number"] == "+1 650-555-0123"
            assert item["last_message"]["preview"] == "Hi, where is my order?"
            assert item["last_message"]["direction"] == "inbound"
            assert item["unread_count"] == 1
            assert item["window"]["open"] is True
            [message] = await thread(http, item["id"])
            assert message["direction"] == "inbound"
            assert message["text"] == "Hi, where is my order?"
            assert message["status"] == "received"

    async def test_reply_is_delivered_and_ticks_to_read(self, inbox: RunningInbox) -> None:
        await inbox.customer_says("Hello?")
        cid = inbox.conversation_id()
        async with inbox.client() as http:
            sent = await http.post(f"/api/v1/conversations/{cid}/messages",
                                   json={"kind": "text", "text": "On its way!"},
                                   headers={"Idempotency-Key": "reply-1"})
            assert sent.status_code == 202, sent.text

            async def read_reply() -> dict[str, Any] | None:
                outbound = [m for m in await thread(http, cid) if m["direction"] == "outbound"]
                return outbound[0] if outbound and outbound[0]["status"] == "read" else None

            reply = await eventually(read_reply)
            assert reply["text"] == "On its way!"
            assert reply["actor_id"] == "ana"
            assert {"sent", "delivered", "read"} <= {s["status"] for s in reply["statuses"]}
            assert reply["wamid"]


class TestWindowPolicy:
    async def test_free_form_after_24_hours_is_refused_with_reason_and_hint(
            self, inbox: RunningInbox) -> None:
        await inbox.customer_says("Are you there?")
        inbox.clock.shift = timedelta(hours=24, minutes=1)
        cid = inbox.conversation_id()
        async with inbox.client() as http:
            conversation = (await http.get(f"/api/v1/conversations/{cid}")).json()
            assert conversation["window"]["open"] is False
            refused = await http.post(f"/api/v1/conversations/{cid}/messages",
                                      json={"kind": "text", "text": "Sorry for the wait"})
            assert refused.status_code == 409
            body = refused.json()
            assert body["error"] == "window_expired"
            assert body["reason"] == "window_expired"
            assert body["hint"] == "Send an approved template instead."
            assert "24 hours" in body["detail"]

    async def test_template_opens_contact_and_free_form_waits_for_the_customer(
            self, inbox: RunningInbox) -> None:
        new_customer = "447700900123"
        cid = inbox.conversation_id(new_customer)
        async with inbox.client() as http:
            opened = await http.post("/api/v1/conversations", json={
                "business_phone_number_id": inbox.channel.phone_number_id,
                "customer_wa_id": f"+{new_customer}", "template_name": "order_update",
                "language": "en_US", "variables": {"1": "Sam", "2": "A-1001"}})
            assert opened.status_code == 202, opened.text
            assert opened.json()["conversation_id"] == cid

            async def delivered_template() -> dict[str, Any] | None:
                response = await http.get(f"/api/v1/conversations/{cid}/messages")
                if response.status_code != 200:
                    return None
                items = response.json()["items"]
                done = [m for m in items if m["status"] in ("delivered", "read")]
                return done[0] if done else None

            template = await eventually(delivered_template)
            assert template["type"] == "template"
            assert template["text"] == "Hi Sam, your order A-1001 is on its way."
            conversation = (await http.get(f"/api/v1/conversations/{cid}")).json()
            assert conversation["window"] == {"open": False, "expires_at": None}

            refused = await http.post(f"/api/v1/conversations/{cid}/messages",
                                      json={"kind": "text", "text": "Any questions?"})
            assert refused.status_code == 409
            assert refused.json()["error"] == "first_contact_requires_template"
            assert refused.json()["hint"] == "Send an approved template instead."

    async def test_template_with_a_missing_variable_is_422_naming_it(
            self, inbox: RunningInbox) -> None:
        async with inbox.client() as http:
            response = await http.post("/api/v1/conversations", json={
                "business_phone_number_id": inbox.channel.phone_number_id,
                "customer_wa_id": "447700900124", "template_name": "order_update",
                "variables": {"1": "Sam"}})
            assert response.status_code == 422
            assert response.json()["field"] == "variables.2"


async def sse_events(response: httpx.Response
                     ) -> AsyncIterator[tuple[str, str | None, str]]:
    """Parsed Server-Sent Events: (event, id, data) per frame."""
    event, event_id, data = "message", None, ""
    async for line in response.aiter_lines():
        if line == "":
            if data:
                yield event, event_id, data
            event, event_id, data = "message", None, ""
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("id:"):
            event_id = line[3:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()


async def next_change(events: Any) -> tuple[str | None, dict[str, Any]]:
    import json

    async for event, event_id, data in events:
        if event == "conversation.changed":
            return event_id, json.loads(data)
        assert event in ("ready",), f"unexpected {event}"
    raise AssertionError("the stream ended")


class TestLiveStream:
    async def test_changes_reach_the_tenant_and_never_another_tenant(
            self, inbox: RunningInbox) -> None:
        async with inbox.client() as acme, inbox.client(inbox.other_key) as globex, \
                acme.stream("GET", "/api/v1/stream") as acme_stream, \
                globex.stream("GET", "/api/v1/stream") as globex_stream:
            assert acme_stream.status_code == 200
            assert acme_stream.headers["content-type"].startswith("text/event-stream")
            acme_events, globex_events = sse_events(acme_stream), sse_events(globex_stream)
            await inbox.customer_says("Hello acme")
            _, change = await asyncio.wait_for(next_change(acme_events), DEADLINE_SECONDS)
            assert change["id"] == inbox.conversation_id()
            assert change["message_ids"]
            # Globex's own customer writes after acme's change: had acme's change leaked, it
            # would come first on globex's stream.
            await inbox.sandbox.customer_says(inbox.other_channel.phone_number_id,
                                              "16505559999", "Hello globex")
            _, other = await asyncio.wait_for(next_change(globex_events), DEADLINE_SECONDS)
            assert other["id"].startswith(inbox.other_channel.phone_number_id + ":")

    async def test_resume_with_last_event_id_replays_what_was_missed(
            self, inbox: RunningInbox) -> None:
        async with inbox.client() as http:
            async with http.stream("GET", "/api/v1/stream") as first:
                events = sse_events(first)
                await inbox.customer_says("First message")
                seen_id, _ = await asyncio.wait_for(next_change(events), DEADLINE_SECONDS)
            assert seen_id
            await inbox.customer_says("Sent while offline")
            async with http.stream("GET", "/api/v1/stream",
                                   headers={"Last-Event-ID": seen_id}) as resumed:
                events = sse_events(resumed)

                async def offline_change() -> dict[str, Any]:
                    while True:
                        _, change = await next_change(events)
                        if (change["last_message"] or {}).get("preview") == "Sent while offline":
                            return change

                change = await asyncio.wait_for(offline_change(), DEADLINE_SECONDS)
                assert change["id"] == inbox.conversation_id()

    async def test_a_position_not_ours_asks_the_client_to_resync(
            self, inbox: RunningInbox) -> None:
        async with inbox.client() as http, http.stream(
                "GET", "/api/v1/stream", headers={"Last-Event-ID": "not-a-position"}) as response:

            async def first_event() -> str:
                async for event, _, _ in sse_events(response):
                    if event != "ready":
                        return str(event)
                return "closed"

            assert await asyncio.wait_for(first_event(), DEADLINE_SECONDS) == "resync"


class TestAuthorization:
    async def test_no_credential_is_401(self, inbox: RunningInbox) -> None:
        async with httpx.AsyncClient(base_url=inbox.base_url) as http:
            for path in ("/api/v1/me", "/api/v1/conversations", "/api/v1/stream",
                         "/api/v1/templates"):
                response = await http.get(path)
                assert response.status_code == 401, path
                assert response.json()["error"] == "unauthorized"

    async def test_wrong_credential_is_401(self, inbox: RunningInbox) -> None:
        async with inbox.client("wai_" + "x" * 43) as http:
            response = await http.get("/api/v1/conversations")
            assert response.status_code == 401
            assert response.json()["error"] == "invalid_credential"

    async def test_another_tenants_conversation_is_404_everywhere(
            self, inbox: RunningInbox) -> None:
        await inbox.customer_says("Private to acme")
        cid = inbox.conversation_id()
        async with inbox.client(inbox.other_key) as http:
            assert (await http.get("/api/v1/conversations")).json()["items"] == []
            for method, path, body in (
                    ("GET", f"/api/v1/conversations/{cid}", None),
                    ("GET", f"/api/v1/conversations/{cid}/messages", None),
                    ("POST", f"/api/v1/conversations/{cid}/messages",
                     {"kind": "text", "text": "hi"}),
                    ("POST", f"/api/v1/conversations/{cid}/read", {}),
                    ("POST", f"/api/v1/conversations/{cid}/status", {"status": "resolved"}),
                    ("POST", f"/api/v1/conversations/{cid}/assignee", {"assignee_id": "me"}),
                    ("POST", "/api/v1/conversations", {
                        "business_phone_number_id": inbox.channel.phone_number_id,
                        "customer_wa_id": CUSTOMER, "template_name": "hello_world"})):
                response = await http.request(method, path, json=body)
                assert response.status_code == 404, (method, path, response.text)

    async def test_browser_session_cookie_signs_in_and_out(self, inbox: RunningInbox) -> None:
        async with httpx.AsyncClient(base_url=inbox.base_url) as http:
            signed_in = await http.post("/api/v1/session", json={"api_key": inbox.api_key})
            assert signed_in.status_code == 204
            cookie = signed_in.headers["set-cookie"].lower()
            assert "httponly" in cookie
            assert "samesite=strict" in cookie
            me = (await http.get("/api/v1/me")).json()
            assert me == {"tenant_id": "acme", "agent_id": "ana", "display_name": "Ana Agent",
                          "kind": "agent", "role": "admin",
                          "channels": [{"phone_number_id": inbox.channel.phone_number_id,
                                        "display_phone_number": "15550007171",
                                        "display_number": "+1 555-000-7171",
                                        "waba_id": inbox.channel.waba_id}],
                          "settings": {"read_receipts": True}}
            assert (await http.delete("/api/v1/session")).status_code == 204
            assert (await http.get("/api/v1/me")).status_code == 401


class TestCommands:
    async def test_read_resolve_and_assign_reach_the_conversation(
            self, inbox: RunningInbox) -> None:
        await inbox.customer_says("Please help")
        cid = inbox.conversation_id()
        async with inbox.client() as http:
            for path, body in (("read", {}), ("status", {"status": "resolved"}),
                               ("assignee", {"assignee_id": "me"})):
                response = await http.post(f"/api/v1/conversations/{cid}/{path}", json=body)
                assert response.status_code == 202, response.text

            async def settled() -> dict[str, Any] | None:
                c = (await http.get(f"/api/v1/conversations/{cid}")).json()
                done = (c["unread_count"] == 0 and c["status"] == "resolved"
                        and c["assignee_id"] == "ana")
                return c if done else None

            await eventually(settled)
            mine = (await http.get("/api/v1/conversations", params={"filter": "mine"})).json()
            assert [c["id"] for c in mine["items"]] == [cid]
            found = (await http.get("/api/v1/conversations", params={"q": "help"})).json()
            assert [c["id"] for c in found["items"]] == [cid]

    async def test_same_idempotency_key_is_one_command(self, inbox: RunningInbox) -> None:
        await inbox.customer_says("Hi")
        cid = inbox.conversation_id()
        async with inbox.client() as http:
            answers = [await http.post(f"/api/v1/conversations/{cid}/messages",
                                       json={"kind": "text", "text": "Once"},
                                       headers={"Idempotency-Key": "same"}) for _ in range(2)]
            assert answers[0].json()["command_id"] == answers[1].json()["command_id"]

            async def delivered() -> list[dict[str, Any]] | None:
                out = [m for m in await thread(http, cid) if m["direction"] == "outbound"]
                return out if out and out[0]["status"] in ("delivered", "read") else None

            assert len(await eventually(delivered)) == 1
            accepted = await inbox.sandbox.accepted(inbox.channel.phone_number_id)
            assert len(accepted) == 1


class TestMedia:
    async def test_customer_photo_is_served_through_the_proxy(self,
                                                               inbox: RunningInbox) -> None:
        result = await inbox.sandbox.customer_sends(inbox.channel.phone_number_id, CUSTOMER,
                                                    "image", {"caption": "the parcel"})
        cid = inbox.conversation_id()
        async with inbox.client() as http:

            async def photo() -> dict[str, Any] | None:
                response = await http.get(f"/api/v1/conversations/{cid}/messages")
                items = response.json().get("items", []) if response.status_code == 200 else []
                found = [m for m in items if m["wamid"] == result.wamid]
                return found[0] if found else None

            message = await eventually(photo)
            assert message["type"] == "image"
            assert message["media"]["caption"] == "the parcel"
            image = await http.get(message["media"]["url"])
            assert image.status_code == 200
            assert image.content.startswith(b"\x89PNG")
            async with inbox.client(inbox.other_key) as other:
                assert (await other.get(message["media"]["url"])).status_code == 404
