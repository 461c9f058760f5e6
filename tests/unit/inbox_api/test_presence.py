"""Presence: the pure rules (expiry, typing's shorter life, who is shown and in which order) as
tables, the use cases on a hand-written store (another tenant's conversation is 404, expired
entries are never shown), and the routes' input checks (a bad state is 422)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from services.inbox_api.accounts.credentials import Identity
from services.inbox_api.audit.actions import action_name
from services.inbox_api.deps import current_identity, get_presence
from services.inbox_api.errors import NotFound, install_error_handlers
from services.inbox_api.presence import routes
from services.inbox_api.presence.ports import Document
from services.inbox_api.presence.rules import (
    HEARTBEAT,
    TYPING_TTL,
    VIEWING_TTL,
    Presence,
    Shown,
    State,
    beat,
    shown,
    state_at,
)
from services.inbox_api.presence.schemas import PresenceIn, PresenceList
from services.inbox_api.presence.service import PresenceService
from services.inbox_api.presence.views import entry_of, presence_doc
from tests.unit.inbox_api.fakes import NOW

S = timedelta(seconds=1)


def viewing(agent: str = "ana", since: datetime = NOW, beat_at: datetime = NOW) -> Presence:
    return Presence(agent, agent.title(), since, beat_at + VIEWING_TTL)


def typing(agent: str = "ana", since: datetime = NOW, beat_at: datetime = NOW) -> Presence:
    return Presence(agent, agent.title(), since, beat_at + VIEWING_TTL, since,
                    beat_at + TYPING_TTL)


class TestTheRulesTimes:
    def test_typing_is_shorter_than_viewing_which_outlives_two_missed_beats(self) -> None:
        assert TYPING_TTL < HEARTBEAT < VIEWING_TTL
        assert VIEWING_TTL > 2 * HEARTBEAT


class TestStateAt:
    @pytest.mark.parametrize(("entry", "at", "state"), [
        (viewing(), NOW, "viewing"),
        (viewing(), NOW + VIEWING_TTL - S, "viewing"),
        (viewing(), NOW + VIEWING_TTL, None),  # expires_at is exclusive: gone at that instant
        (viewing(), NOW + VIEWING_TTL + S, None),
        (typing(), NOW, "typing"),
        (typing(), NOW + TYPING_TTL - S, "typing"),
        (typing(), NOW + TYPING_TTL, "viewing"),  # typing lapsed; still on the thread
        (typing(), NOW + VIEWING_TTL - S, "viewing"),
        (typing(), NOW + VIEWING_TTL, None),
    ])
    def test_the_state_at_an_instant(self, entry: Presence, at: datetime,
                                     state: State | None) -> None:
        assert state_at(entry, at) == state

    def test_expires_with_the_longer_of_viewing_and_typing(self) -> None:
        assert viewing().expires_at == NOW + VIEWING_TTL
        assert typing().expires_at == NOW + VIEWING_TTL
        odd = Presence("ana", "Ana", NOW, NOW + S, NOW, NOW + TYPING_TTL)
        assert odd.expires_at == NOW + TYPING_TTL


class TestBeat:
    def test_a_first_beat_starts_viewing_now(self) -> None:
        assert beat(None, "ana", "Ana", "viewing", NOW) == Presence(
            "ana", "Ana", NOW, NOW + VIEWING_TTL)

    def test_a_first_typing_beat_is_viewing_and_typing_since_now(self) -> None:
        assert beat(None, "ana", "Ana", "typing", NOW) == Presence(
            "ana", "Ana", NOW, NOW + VIEWING_TTL, NOW, NOW + TYPING_TTL)

    def test_viewing_since_survives_beats_and_the_expiry_moves(self) -> None:
        later = NOW + HEARTBEAT
        assert beat(viewing(), "ana", "Ana", "viewing", later) == Presence(
            "ana", "Ana", NOW, later + VIEWING_TTL)

    def test_an_expired_entry_starts_afresh(self) -> None:
        later = NOW + VIEWING_TTL + S
        assert beat(typing(), "ana", "Ana", "typing", later) == Presence(
            "ana", "Ana", later, later + VIEWING_TTL, later, later + TYPING_TTL)

    def test_typing_since_survives_a_burst_of_keystrokes(self) -> None:
        later = NOW + 2 * S
        after = beat(typing(), "ana", "Ana", "typing", later)
        assert (after.typing_since, after.typing_until) == (NOW, later + TYPING_TTL)

    def test_typing_that_lapsed_starts_again(self) -> None:
        later = NOW + TYPING_TTL + S
        after = beat(typing(), "ana", "Ana", "typing", later)
        assert (after.viewing_since, after.typing_since) == (NOW, later)

    def test_a_viewing_beat_ends_typing_at_once(self) -> None:
        after = beat(typing(), "ana", "Ana", "viewing", NOW + S)
        assert state_at(after, NOW + S) == "viewing"
        assert (after.typing_since, after.typing_until) == (None, None)

    def test_the_name_is_the_latest(self) -> None:
        assert beat(viewing(), "ana", "Ana Maria", "viewing", NOW).display_name == "Ana Maria"


class TestShown:
    def test_nobody_when_there_is_nobody(self) -> None:
        assert shown([], NOW) == []

    def test_expired_entries_are_not_shown(self) -> None:
        old = viewing("old", NOW - VIEWING_TTL - S, NOW - VIEWING_TTL - S)
        assert [s.agent_id for s in shown([old, viewing("bea")], NOW)] == ["bea"]

    def test_typing_first_then_who_came_first_then_name(self) -> None:
        entries = [viewing("cid", NOW - 3 * S), viewing("bea", NOW - 5 * S),
                   typing("dan", NOW - S), viewing("al", NOW - 3 * S), typing("eve", NOW - 2 * S)]
        assert [s.agent_id for s in shown(entries, NOW)] == ["eve", "dan", "bea", "al", "cid"]

    def test_the_state_and_since_are_the_current_ones(self) -> None:
        entry = Presence("ana", "Ana", NOW - 60 * S, NOW + VIEWING_TTL, NOW - 2 * S,
                         NOW + TYPING_TTL)
        assert shown([entry], NOW) == [Shown("ana", "Ana", "typing", NOW - 2 * S)]
        assert shown([entry], NOW + TYPING_TTL) == [Shown("ana", "Ana", "viewing", NOW - 60 * S)]

    def test_one_row_per_agent_the_longest_lasting(self) -> None:
        stale, fresh = viewing("ana", NOW - 10 * S, NOW - 10 * S), typing("ana", NOW - S)
        assert shown([stale, fresh], NOW) == [Shown("ana", "Ana", "typing", NOW - S)]
        assert shown([fresh, stale], NOW) == [Shown("ana", "Ana", "typing", NOW - S)]


class TestViews:
    def test_a_stored_document_round_trips_naive_dates_included(self) -> None:
        entry = typing("ana")
        doc = presence_doc("acme", "1001:1", entry)
        assert doc["_id"] == "acme|1001:1|ana"
        assert doc["expires_at"] == entry.expires_at
        naive = {k: (v.replace(tzinfo=None) if isinstance(v, datetime) else v)
                 for k, v in doc.items()}
        assert entry_of(naive) == entry
        assert entry_of(presence_doc("acme", "1001:1", viewing())) == viewing()


@dataclass
class FakePresence:
    conversations: set[tuple[str, str]] = field(default_factory=set)
    docs: dict[str, Document] = field(default_factory=dict)

    async def conversation_exists(self, tenant_id: str, conversation_id: str) -> bool:
        return (tenant_id, conversation_id) in self.conversations

    async def entry(self, tenant_id: str, conversation_id: str,
                    agent_id: str) -> Document | None:
        return self.docs.get(f"{tenant_id}|{conversation_id}|{agent_id}")

    async def put(self, doc: Document) -> None:
        self.docs[doc["_id"]] = dict(doc)

    async def remove(self, tenant_id: str, conversation_id: str, agent_id: str) -> None:
        self.docs.pop(f"{tenant_id}|{conversation_id}|{agent_id}", None)

    def _of(self, tenant_id: str, conversation_id: str) -> list[Document]:
        return [d for d in self.docs.values() if d["tenant_id"] == tenant_id
                and d["conversation_id"] == conversation_id]

    async def present(self, tenant_id: str, conversation_id: str,
                      now: datetime) -> list[Document]:
        return [d for d in self._of(tenant_id, conversation_id) if d["expires_at"] > now]

    async def sweep(self, tenant_id: str, conversation_id: str, now: datetime) -> None:
        for doc in self._of(tenant_id, conversation_id):
            if doc["expires_at"] <= now:
                del self.docs[doc["_id"]]


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


def who(agent: str, tenant: str = "acme") -> Identity:
    return Identity(tenant_id=tenant, agent_id=agent, display_name=agent.title(), kind="agent",
                    key_hash="h")


@pytest.fixture
def store() -> FakePresence:
    return FakePresence(conversations={("acme", "1001:1"), ("acme", "1001:2"),
                                       ("globex", "1002:9")})


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def presence(store: FakePresence, clock: Clock) -> PresenceService:
    return PresenceService(store, clock)


VIEW, TYPE = PresenceIn(state="viewing"), PresenceIn(state="typing")


def rows(answer: PresenceList) -> list[tuple[str, str]]:
    return [(p.agent_id, p.state) for p in answer.items]


class TestPresenceService:
    async def test_a_colleague_sees_who_views_and_who_types(self, presence: PresenceService,
                                                            clock: Clock) -> None:
        await presence.beat(who("ana"), "1001:1", VIEW)
        assert rows(await presence.present(who("bea"), "1001:1")) == [("ana", "viewing")]
        clock.now += S
        answer = await presence.beat(who("bea"), "1001:1", TYPE)
        assert rows(answer) == [("bea", "typing"), ("ana", "viewing")]
        assert answer.heartbeat_seconds == int(HEARTBEAT.total_seconds())
        assert answer.items[0].display_name == "Bea"

    async def test_typing_lapses_to_viewing_then_the_entry_expires(
            self, presence: PresenceService, clock: Clock) -> None:
        await presence.beat(who("ana"), "1001:1", TYPE)
        clock.now = NOW + TYPING_TTL
        assert rows(await presence.present(who("bea"), "1001:1")) == [("ana", "viewing")]
        clock.now = NOW + VIEWING_TTL
        assert rows(await presence.present(who("bea"), "1001:1")) == []

    async def test_a_heartbeat_sweeps_the_conversations_expired_entries(
            self, presence: PresenceService, store: FakePresence, clock: Clock) -> None:
        await presence.beat(who("ana"), "1001:1", VIEW)
        await presence.beat(who("ana"), "1001:2", VIEW)
        clock.now = NOW + VIEWING_TTL + S
        await presence.beat(who("bea"), "1001:1", VIEW)
        assert sorted(store.docs) == ["acme|1001:1|bea", "acme|1001:2|ana"]

    async def test_leaving_removes_only_the_callers_entry(self, presence: PresenceService) -> None:
        await presence.beat(who("ana"), "1001:1", VIEW)
        await presence.beat(who("bea"), "1001:1", VIEW)
        await presence.leave(who("ana"), "1001:1")
        assert rows(await presence.present(who("ana"), "1001:1")) == [("bea", "viewing")]
        await presence.leave(who("ana"), "1001:1")  # twice is fine

    async def test_presence_stays_on_its_conversation(self, presence: PresenceService) -> None:
        await presence.beat(who("ana"), "1001:1", VIEW)
        assert rows(await presence.present(who("bea"), "1001:2")) == []

    async def test_another_tenants_conversation_is_not_found(
            self, presence: PresenceService, store: FakePresence) -> None:
        for call in (presence.beat(who("ana"), "1002:9", VIEW),
                     presence.present(who("ana"), "1002:9"),
                     presence.leave(who("ana"), "1002:9")):
            with pytest.raises(NotFound):
                await call
        assert store.docs == {}

    async def test_another_tenants_agents_are_never_shown(self, presence: PresenceService,
                                                          store: FakePresence) -> None:
        store.conversations.add(("globex", "1001:1"))  # the same id in another tenant
        await presence.beat(who("gus", "globex"), "1001:1", TYPE)
        assert rows(await presence.present(who("ana"), "1001:1")) == []
        assert rows(await presence.present(who("gus", "globex"), "1001:1")) == [("gus", "typing")]


@pytest.fixture
async def http(presence: PresenceService) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(routes.router, prefix="/api/v1")
    app.dependency_overrides[current_identity] = lambda: who("ana")
    app.dependency_overrides[get_presence] = lambda: presence
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://inbox") as client:
        yield client


class TestRoutes:
    URL = "/api/v1/conversations/1001:1/presence"

    async def test_put_get_delete(self, http: httpx.AsyncClient) -> None:
        put = await http.put(self.URL, json={"state": "typing"})
        assert put.status_code == 200
        assert put.json()["items"] == [{"agent_id": "ana", "display_name": "Ana",
                                        "state": "typing", "since": "2026-11-28T12:00:00Z"}]
        assert (await http.get(self.URL)).json()["items"][0]["state"] == "typing"
        assert (await http.delete(self.URL)).status_code == 204
        assert (await http.get(self.URL)).json()["items"] == []

    @pytest.mark.parametrize("body", [{"state": "away"}, {"state": ""}, {}, {"state": 1}])
    async def test_a_bad_state_is_422(self, http: httpx.AsyncClient, body: object) -> None:
        response = await http.put(self.URL, json=body)
        assert response.status_code == 422
        assert response.json()["error"] == "validation_failed"
        assert response.json()["field"] == "state"

    async def test_another_tenants_conversation_is_404(self, http: httpx.AsyncClient) -> None:
        for method in ("PUT", "GET", "DELETE"):
            response = await http.request(method, "/api/v1/conversations/1002:9/presence",
                                          json={"state": "viewing"} if method == "PUT" else None)
            assert response.status_code == 404
            assert response.json()["error"] == "conversation_not_found"

    @pytest.mark.parametrize("method", ["PUT", "DELETE"])
    def test_heartbeats_are_not_audit_entries(self, method: str) -> None:
        assert action_name(method, "/api/v1/conversations/{conversation_id}/presence") is None
