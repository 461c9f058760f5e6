"""Labels, canned replies and the audit log: their pure rules (table tests), the audit
middleware on the real app over fakes, and the background recorder's failure counting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from services.inbox_api.audit import cursors
from services.inbox_api.audit.actions import action_name, target
from services.inbox_api.audit.ports import AuditQuery, Document
from services.inbox_api.audit.recorder import AuditRecorder
from services.inbox_api.audit.redaction import summary
from services.inbox_api.audit.service import AuditLog, new_entry
from services.inbox_api.audit.views import csv_text, entry_view
from services.inbox_api.canned_replies.rendering import (
    Contact,
    contact_of,
    render,
    unknown_variables,
)
from services.inbox_api.canned_replies.rules import shortcut
from services.inbox_api.labels.rules import colour, label_name, name_key
from services.inbox_api.main import create_app
from services.inbox_api.settings import InboxApiSettings
from tests.unit.inbox_api.fakes import ACME_KEY, NOW, Wiring, WithState

OPEN = "1001:16505550123"


class TestLabelRules:
    @pytest.mark.parametrize(("raw", "stored"), [("#1F883D", "#1f883d"), ("#abcdef", "#abcdef"),
                                                 (" #000000 ", "#000000")])
    def test_accepts_rrggbb_and_stores_it_lowercase(self, raw: str, stored: str) -> None:
        assert colour(raw) == stored

    @pytest.mark.parametrize("raw", ["red", "#fff", "#12345g", "1f883d", "#1f883d0", ""])
    def test_refuses_anything_but_rrggbb(self, raw: str) -> None:
        with pytest.raises(ValueError, match="#rrggbb"):
            colour(raw)

    def test_a_name_is_trimmed_and_its_key_ignores_case(self) -> None:
        assert label_name("  VIP   customer ") == "VIP customer"
        assert name_key("VIP Customer") == name_key("vip   customer")

    @pytest.mark.parametrize("raw", ["", "   ", "x" * 41])
    def test_refuses_an_empty_or_long_name(self, raw: str) -> None:
        with pytest.raises(ValueError, match="label"):
            label_name(raw)


class TestShortcuts:
    @pytest.mark.parametrize(("raw", "slug"), [("hello", "hello"), ("/Hello", "hello"),
                                               ("opening-hours", "opening-hours"),
                                               ("faq_2", "faq_2")])
    def test_accepts_slugs(self, raw: str, slug: str) -> None:
        assert shortcut(raw) == slug

    @pytest.mark.parametrize("raw", ["", "/", "two words", "-lead", "café", "x" * 33])
    def test_refuses_what_is_not_a_slug(self, raw: str) -> None:
        with pytest.raises(ValueError, match="shortcut"):
            shortcut(raw)


class TestRendering:
    ANA = Contact(name="Ana García", phone="+16505550123")

    @pytest.mark.parametrize(("text", "out"), [
        ("Hi {{contact.name}}!", "Hi Ana García!"),
        ("Hi {{ contact.first_name }}", "Hi Ana"),
        ("We will call {{contact.phone}}", "We will call +16505550123"),
        ("No variables", "No variables"),
        ("{{order.id}} stays", "{{order.id}} stays"),
    ])
    def test_fills_the_contacts_variables(self, text: str, out: str) -> None:
        assert render(text, self.ANA).text == out

    def test_a_missing_value_is_empty_and_named(self) -> None:
        rendered = render("Hi {{contact.first_name}}, {{contact.phone}}", Contact())
        assert rendered.text == "Hi , "
        assert rendered.missing == ("contact.first_name", "contact.phone")

    def test_the_contact_of_a_conversation(self) -> None:
        assert contact_of(" Ana ", "16505550123") == Contact("Ana", "+16505550123")
        assert contact_of(None, None) == Contact(None, None)

    def test_unknown_variables_are_found(self) -> None:
        assert unknown_variables("{{contact.name}} {{contact.email}}") == ["contact.email"]


class TestActionNames:
    @pytest.mark.parametrize(("method", "route", "body", "action"), [
        ("POST", "/api/v1/conversations/{conversation_id}/messages", None, "conversation.reply"),
        ("POST", "/api/v1/conversations/{conversation_id}/assignee", None,
         "conversation.assign"),
        ("POST", "/api/v1/conversations/{conversation_id}/status", {"status": "resolved"},
         "conversation.resolve"),
        ("POST", "/api/v1/conversations/{conversation_id}/status", {"status": "open"},
         "conversation.reopen"),
        ("POST", "/api/v1/conversations/{conversation_id}/notes", None, "conversation.note"),
        ("PUT", "/api/v1/templates/{template_id}", None, "template.update"),
        ("DELETE", "/api/v1/templates/{template_id}", None, "template.delete"),
        ("POST", "/api/v1/campaigns", None, "campaign.create"),
        ("POST", "/api/v1/campaigns/{campaign_id}/pause", None, "campaign.pause"),
        ("POST", "/api/v1/session", None, "session.sign_in"),
        ("PATCH", "/api/v1/canned-replies/{reply_id}", None, "canned_reply.update"),
        ("POST", "/api/v1/agents/{agent_id}/deactivate", None, "agent.deactivate"),
        ("DELETE", "/api/v1/teams/{team_id}/members/{agent_id}", None, "team.remove_member"),
        ("POST", "/api/v1/keys", None, "key.create"),
        ("PUT", "/api/v1/round-robin", None, "round_robin.update"),
    ])
    def test_names_each_route(self, method: str, route: str, body: dict[str, Any] | None,
                              action: str) -> None:
        assert action_name(method, route, body) == action

    @pytest.mark.parametrize(("method", "route"), [
        ("GET", "/api/v1/conversations"),
        ("POST", "/api/v1/conversations/{conversation_id}/typing"),
        ("POST", "/api/v1/conversations/{conversation_id}/read"),
        ("POST", "/api/v1/templates/preview"),
        ("POST", "/api/v1/conversations/{conversation_id}/mentions/read"),
    ])
    def test_reads_and_live_hints_are_no_actions(self, method: str, route: str) -> None:
        assert action_name(method, route) is None

    def test_the_target_leaves_tokens_out(self) -> None:
        assert target({"conversation_id": "c1", "token": "secret"}) == {"conversation_id": "c1"}


class TestRedaction:
    def test_keeps_whitelisted_fields_only(self) -> None:
        body = {"text": "Hello", "assignee_id": "bob", "unknown_field": "x",
                "password": "hunter2", "api_key": "wai_x", "new_password": "p"}
        assert summary(body) == {"text": "Hello", "assignee_id": "bob"}

    def test_never_keeps_a_secret_even_nested(self) -> None:
        body = {"schedule": {"at_utc": "2026-12-01T10:00:00Z", "token": "t"}}
        assert summary(body) == {"schedule": {"at_utc": "2026-12-01T10:00:00Z"}}

    def test_long_text_is_cut(self) -> None:
        assert len(summary({"text": "x" * 1000})["text"]) == 201

    def test_a_body_that_is_not_an_object_is_empty(self) -> None:
        assert summary(["a"]) == {}
        assert summary(None) == {}


class TestAuditViews:
    def test_cursor_round_trips_and_refuses_garbage(self) -> None:
        at = datetime(2026, 12, 1, 10, tzinfo=UTC)
        assert cursors.decode(cursors.encode(at, "aud_1")) == (at, "aud_1")
        with pytest.raises(cursors.BadCursor):
            cursors.decode("not-a-cursor")

    def test_csv_quotes_formulas(self) -> None:
        doc = new_entry(tenant_id="acme", at=NOW, who=None, action="conversation.reply",
                        method="POST", route="/r", target={}, summary={}, status=202)
        doc["agent_name"] = "=HYPERLINK(1)"
        text = csv_text([entry_view(doc)], header=True)
        assert text.splitlines()[0].startswith("at,agent_id,agent_name,action")
        assert "'=HYPERLINK(1)" in text


class FakeAuditStore:
    def __init__(self, fail: bool = False) -> None:
        self.docs: list[Document] = []
        self.fail = fail

    async def add_many(self, docs: Sequence[Document]) -> None:
        if self.fail:
            raise RuntimeError("down")
        self.docs.extend(docs)

    async def entry(self, tenant_id: str, entry_id: str) -> Document | None:
        return next((d for d in self.docs if d["_id"] == entry_id
                     and d["tenant_id"] == tenant_id), None)

    async def entries(self, tenant_id: str, query: AuditQuery, limit: int) -> list[Document]:
        docs = [d for d in self.docs if d["tenant_id"] == tenant_id]
        return sorted(docs, key=lambda d: (d["at"], d["_id"]), reverse=True)[:limit]


def _count(outcome: str) -> float:
    value = REGISTRY.get_sample_value("inbox_api_audit_entries_total", {"outcome": outcome})
    return value or 0.0


class TestRecorder:
    async def test_a_failed_write_is_counted_not_raised(self) -> None:
        recorder = AuditRecorder(FakeAuditStore(fail=True))
        recorder.start()
        before = _count("dropped_write_failed")
        recorder.record({"_id": "a"})
        await recorder.flush()
        await recorder.close()
        assert _count("dropped_write_failed") == before + 1

    async def test_a_full_queue_drops_and_counts(self) -> None:
        recorder = AuditRecorder(FakeAuditStore(), capacity=1)  # not started: nothing drains
        before = _count("dropped_queue_full")
        recorder.record({"_id": "a"})
        recorder.record({"_id": "b"})
        assert _count("dropped_queue_full") == before + 1


@pytest.fixture
async def audited(wiring: Wiring) -> AsyncIterator[tuple[httpx.AsyncClient, FakeAuditStore,
                                                          AuditRecorder]]:
    store = FakeAuditStore()
    recorder = AuditRecorder(store)
    recorder.start()
    state: Any = {**wiring.state, "audit": AuditLog(store, recorder, lambda: NOW)}
    app = WithState(create_app(InboxApiSettings(), clock=lambda: NOW), state)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://inbox") as client:
        yield client, store, recorder
    await recorder.close()


class TestAuditMiddleware:
    async def test_a_reply_is_recorded_with_who_what_and_the_target(
            self, audited: tuple[httpx.AsyncClient, FakeAuditStore, AuditRecorder]) -> None:
        http, store, recorder = audited
        response = await http.post(f"/api/v1/conversations/{OPEN}/messages",
                                   json={"kind": "text", "text": "Hello Ana"},
                                   headers={"Authorization": f"Bearer {ACME_KEY}"})
        assert response.status_code == 202, response.text
        await recorder.flush()
        [entry] = store.docs
        assert (entry["tenant_id"], entry["agent_id"], entry["action"]) == (
            "acme", "ana", "conversation.reply")
        assert entry["target"] == {"conversation_id": OPEN}
        assert entry["summary"] == {"kind": "text", "text": "Hello Ana"}
        assert entry["route"] == "/api/v1/conversations/{conversation_id}/messages"
        assert entry["at"] == NOW

    async def test_a_refused_request_and_a_read_are_not_recorded(
            self, audited: tuple[httpx.AsyncClient, FakeAuditStore, AuditRecorder]) -> None:
        http, store, recorder = audited
        auth = {"Authorization": f"Bearer {ACME_KEY}"}
        assert (await http.post("/api/v1/conversations/nope/messages",
                                json={"kind": "text", "text": "x"},
                                headers=auth)).status_code == 404
        assert (await http.get("/api/v1/conversations", headers=auth)).status_code == 200
        await recorder.flush()
        assert store.docs == []

    async def test_sign_ins_are_recorded_whether_they_succeed_or_not(
            self, audited: tuple[httpx.AsyncClient, FakeAuditStore, AuditRecorder]) -> None:
        http, store, recorder = audited
        assert (await http.post("/api/v1/session",
                                json={"api_key": ACME_KEY})).status_code == 204
        assert (await http.post("/api/v1/session",
                                json={"api_key": "wai_wrong"})).status_code == 401
        await recorder.flush()
        ok, failed = store.docs
        assert (ok["action"], ok["agent_id"], ok["tenant_id"]) == ("session.sign_in", "ana",
                                                                   "acme")
        assert (failed["action"], failed["status"]) == ("session.sign_in_failed", 401)
        assert "api_key" not in ok["summary"]
        assert "api_key" not in failed["summary"]

    async def test_recording_never_slows_a_request_when_the_queue_is_full(
            self, wiring: Wiring) -> None:
        store = FakeAuditStore()
        recorder = AuditRecorder(store, capacity=1)  # never started: the queue stays full
        state: Any = {**wiring.state, "audit": AuditLog(store, recorder, lambda: NOW)}
        app = WithState(create_app(InboxApiSettings(), clock=lambda: NOW), state)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://inbox",
                                     headers={"Authorization": f"Bearer {ACME_KEY}"}) as http:
            for _ in range(3):
                response = await http.post(f"/api/v1/conversations/{OPEN}/messages",
                                           json={"kind": "text", "text": "hi"})
                assert response.status_code == 202
        assert recorder.queue.qsize() == 1
        await asyncio.sleep(0)
