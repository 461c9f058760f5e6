"""Private notes: @mention parsing (table), and the notes' use cases on hand-written fakes (a
mention marks the conversation for the agent it names until they open it; another tenant's
conversation is 404)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pytest

from services.inbox_api.accounts.credentials import Identity
from services.inbox_api.accounts.schemas import AgentList, AgentOut
from services.inbox_api.errors import NotFound
from services.inbox_api.notes.mentions import Mentionable, mentioned
from services.inbox_api.notes.ports import Document
from services.inbox_api.notes.schemas import NoteIn
from services.inbox_api.notes.service import NoteService
from tests.unit.inbox_api.fakes import NOW

AGENTS = [Mentionable("ana", "Ana Agent"), Mentionable("bea", "Bea Lopez"),
          Mentionable("bob.k", "Bob"), Mentionable("bo2", "Bea Other")]


@pytest.mark.parametrize(("text", "ids"), [
    ("@bea can you look?", ["bea"]),
    ("@Bea Lopez can you look?", ["bea"]),
    ("@BEA LOPEZ, please", ["bea"]),
    ("@Bea Other and @Ana Agent", ["bo2", "ana"]),
    ("@Ana: first-word mention, one Ana", ["ana"]),
    ("@Bea is the id bea (two agents' names start with Bea)", ["bea"]),
    ("@bob.k. and @bob", ["bob.k"]),
    ("mail bea@example.com is not a mention", []),
    ("@ana @ana twice is once", ["ana"]),
    ("@nobody here", []),
    ("@", []),
    ("no mention at all", []),
    ("(@bea) in brackets", ["bea"]),
])
def test_mentions(text: str, ids: list[str]) -> None:
    assert mentioned(text, AGENTS) == ids


def test_a_first_name_two_agents_share_mentions_nobody() -> None:
    agents = [Mentionable("u1", "Bea Lopez"), Mentionable("u2", "Bea Other")]
    assert mentioned("@Bea hi", agents) == []
    assert mentioned("@Bea Other hi", agents) == ["u2"]


def test_a_longer_name_wins_over_its_prefix() -> None:
    agents = [Mentionable("a1", "Ana"), Mentionable("a2", "Ana Maria")]
    assert mentioned("@Ana Maria hi", agents) == ["a2"]
    assert mentioned("@Ana Mar hi", agents) == ["a1"]


@dataclass
class FakeNotes:
    conversations: set[tuple[str, str]] = field(default_factory=set)
    docs: list[Document] = field(default_factory=list)
    marks: dict[tuple[str, str, str], int] = field(default_factory=dict)

    async def conversation_exists(self, tenant_id: str, conversation_id: str) -> bool:
        return (tenant_id, conversation_id) in self.conversations

    async def add(self, doc: Document) -> None:
        self.docs.append(doc)

    async def notes(self, tenant_id: str, conversation_id: str, limit: int) -> list[Document]:
        return [d for d in self.docs if d["tenant_id"] == tenant_id
                and d["conversation_id"] == conversation_id][:limit]

    async def mention(self, tenant_id: str, agent_ids: Sequence[str], conversation_id: str,
                      note_id: str, at: datetime) -> None:
        for agent in agent_ids:
            key = (tenant_id, agent, conversation_id)
            self.marks[key] = self.marks.get(key, 0) + 1

    async def unread_mentions(self, tenant_id: str, agent_id: str,
                              conversation_ids: Sequence[str]) -> dict[str, int]:
        return {c: n for (t, a, c), n in self.marks.items()
                if t == tenant_id and a == agent_id and c in conversation_ids}

    async def clear_mentions(self, tenant_id: str, agent_id: str,
                             conversation_id: str) -> None:
        self.marks.pop((tenant_id, agent_id, conversation_id), None)


class FakeRoster:
    async def agents(self, identity: Identity) -> AgentList:
        people = {"acme": [("ana", "Ana Agent"), ("bea", "Bea Lopez")], "globex": [("gus", "Gus")]}
        return AgentList(items=[AgentOut(id=i, display_name=n, kind="agent")
                                for i, n in people[identity.tenant_id]]
                         + [AgentOut(id="bot", display_name="Bot", kind="service")])


def who(agent: str, tenant: str = "acme") -> Identity:
    return Identity(tenant_id=tenant, agent_id=agent, display_name=agent.title(), kind="agent",
                    key_hash="h")


@pytest.fixture
def store() -> FakeNotes:
    return FakeNotes(conversations={("acme", "1001:1"), ("globex", "1002:2")})


@pytest.fixture
def notes(store: FakeNotes) -> NoteService:
    return NoteService(store, FakeRoster(), lambda: NOW)


class TestAddNote:
    async def test_a_mention_marks_the_conversation_for_that_agent_until_opened(
            self, notes: NoteService) -> None:
        note = await notes.add(who("ana"), "1001:1", NoteIn(text="@Bea Lopez please call back"))
        assert [(m.id, m.display_name) for m in note.mentions] == [("bea", "Bea Lopez")]
        assert note.author_id == "ana"
        assert note.created_at == NOW
        assert await notes.unread_mentions(who("bea"), ["1001:1"]) == {"1001:1": 1}
        assert await notes.unread_mentions(who("ana"), ["1001:1"]) == {}
        await notes.read_mentions(who("bea"), "1001:1")
        assert await notes.unread_mentions(who("bea"), ["1001:1"]) == {}

    async def test_mentioning_yourself_or_a_service_key_marks_nothing(
            self, notes: NoteService, store: FakeNotes) -> None:
        note = await notes.add(who("ana"), "1001:1", NoteIn(text="@ana and @bot"))
        assert note.mentions == []
        assert store.marks == {}

    async def test_another_tenants_conversation_is_not_found(self, notes: NoteService,
                                                             store: FakeNotes) -> None:
        with pytest.raises(NotFound):
            await notes.add(who("ana"), "1002:2", NoteIn(text="hi @gus"))
        with pytest.raises(NotFound):
            await notes.notes(who("ana"), "1002:2")
        with pytest.raises(NotFound):
            await notes.read_mentions(who("ana"), "1002:2")
        assert store.docs == []

    async def test_the_thread_lists_notes_oldest_first(self, notes: NoteService) -> None:
        await notes.add(who("ana"), "1001:1", NoteIn(text="first"))
        await notes.add(who("bea"), "1001:1", NoteIn(text="second"))
        listed = await notes.notes(who("bea"), "1001:1")
        assert [(n.text, n.author_name) for n in listed.items] == [
            ("first", "Ana Agent"), ("second", "Bea Lopez")]
