"""The notes' use cases: write a note (its @mentions mark the conversation for the agents it
names), read a conversation's notes, the caller's unread mentions, and clearing them when the
caller opens the conversation. Nothing here publishes: a note never leaves the inbox."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from services.inbox_api.accounts.credentials import Identity
from services.inbox_api.errors import NotFound
from services.inbox_api.notes.mentions import Mentionable, mentioned
from services.inbox_api.notes.ports import AgentRoster, Clock, NoteStore
from services.inbox_api.notes.schemas import NoteIn, NoteList, NoteOut
from services.inbox_api.notes.views import note_view

# The thread shows a conversation's newest notes up to this many.
NOTES_LIMIT = 500


class NoteService:
    """Notes and mentions, always inside the caller's tenant."""

    def __init__(self, store: NoteStore, roster: AgentRoster, clock: Clock) -> None:
        self.store = store
        self.roster = roster
        self.clock = clock

    async def add(self, who: Identity, conversation_id: str, body: NoteIn) -> NoteOut:
        await self._conversation(who, conversation_id)
        people = [a for a in (await self.roster.agents(who)).items if a.kind == "agent"]
        names = {a.id: a.display_name for a in people}
        agents = [Mentionable(id=a.id, name=a.display_name) for a in people if a.active]
        # Mentioning yourself marks nothing: you are the one writing.
        mentions = [m for m in mentioned(body.text, agents) if m != who.agent_id]
        now = self.clock()
        note_id = f"note_{uuid.uuid4().hex}"
        doc = {"_id": note_id, "tenant_id": who.tenant_id,
               "conversation_id": conversation_id, "author_id": who.agent_id,
               "author_name": who.display_name, "text": body.text, "mentions": mentions,
               "created_at": now}
        await self.store.add(doc)
        await self.store.mention(who.tenant_id, mentions, conversation_id, note_id, now)
        return note_view(doc, names)

    async def notes(self, who: Identity, conversation_id: str) -> NoteList:
        await self._conversation(who, conversation_id)
        docs = await self.store.notes(who.tenant_id, conversation_id, NOTES_LIMIT)
        names = await self._names(who)
        return NoteList(items=[note_view(d, names) for d in docs])

    async def unread_mentions(self, who: Identity,
                              conversation_ids: Sequence[str]) -> dict[str, int]:
        """The caller's unread mentions per conversation (absent: none)."""
        return await self.store.unread_mentions(who.tenant_id, who.agent_id, conversation_ids)

    async def read_mentions(self, who: Identity, conversation_id: str) -> None:
        await self._conversation(who, conversation_id)
        await self.store.clear_mentions(who.tenant_id, who.agent_id, conversation_id)

    async def _conversation(self, who: Identity, conversation_id: str) -> None:
        if not await self.store.conversation_exists(who.tenant_id, conversation_id):
            raise NotFound("No such conversation.", code="conversation_not_found")

    async def _names(self, who: Identity) -> dict[str, str]:
        """Every agent's name (a deactivated author still has one); mentions: active only."""
        return {a.id: a.display_name for a in (await self.roster.agents(who)).items
                if a.kind == "agent"}
