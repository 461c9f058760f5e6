"""Presence's use cases: a heartbeat (the caller is viewing or typing; answers who is there),
leaving, and who is on a conversation now. Always inside the caller's tenant; nothing here
publishes (presence never leaves the inbox)."""

from __future__ import annotations

from services.inbox_api.accounts.credentials import Identity
from services.inbox_api.errors import NotFound
from services.inbox_api.presence.ports import Clock, PresenceStore
from services.inbox_api.presence.rules import HEARTBEAT, beat, shown
from services.inbox_api.presence.schemas import PresenceIn, PresenceList
from services.inbox_api.presence.views import entry_of, presence_doc, presence_out


class PresenceService:
    """Who is viewing or typing in a conversation, shared by every replica through the store."""

    def __init__(self, store: PresenceStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def beat(self, who: Identity, conversation_id: str, body: PresenceIn) -> PresenceList:
        """The caller's heartbeat; answers with everyone there now (one request per beat)."""
        await self._conversation(who, conversation_id)
        now = self.clock()
        stored = await self.store.entry(who.tenant_id, conversation_id, who.agent_id)
        entry = beat(entry_of(stored) if stored else None, who.agent_id, who.display_name,
                     body.state, now)
        await self.store.put(presence_doc(who.tenant_id, conversation_id, entry))
        await self.store.sweep(who.tenant_id, conversation_id, now)
        return await self._present(who, conversation_id)

    async def leave(self, who: Identity, conversation_id: str) -> None:
        await self._conversation(who, conversation_id)
        await self.store.remove(who.tenant_id, conversation_id, who.agent_id)

    async def present(self, who: Identity, conversation_id: str) -> PresenceList:
        await self._conversation(who, conversation_id)
        return await self._present(who, conversation_id)

    async def _present(self, who: Identity, conversation_id: str) -> PresenceList:
        now = self.clock()
        docs = await self.store.present(who.tenant_id, conversation_id, now)
        return PresenceList(items=[presence_out(s) for s in shown(map(entry_of, docs), now)],
                            heartbeat_seconds=int(HEARTBEAT.total_seconds()))

    async def _conversation(self, who: Identity, conversation_id: str) -> None:
        if not await self.store.conversation_exists(who.tenant_id, conversation_id):
            raise NotFound("No such conversation.", code="conversation_not_found")
