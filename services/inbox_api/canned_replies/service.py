"""The canned replies' use cases: list (by shortcut prefix), read, create, edit, delete, and a
reply filled for a conversation's contact (rendering.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from services.inbox_api.accounts.credentials import Identity
from services.inbox_api.canned_replies.ports import CannedReplyStore, Document, DuplicateShortcut
from services.inbox_api.canned_replies.rendering import contact_of, render
from services.inbox_api.canned_replies.rules import shortcut
from services.inbox_api.canned_replies.schemas import (
    CannedReplyIn,
    CannedReplyList,
    CannedReplyOut,
    CannedReplyPatch,
    RenderedReply,
)
from services.inbox_api.canned_replies.views import reply_view
from services.inbox_api.errors import InvalidInput, NotFound


def _taken(slug: str) -> InvalidInput:
    return InvalidInput(f"The shortcut /{slug} is taken.", code="shortcut_exists",
                        field="shortcut")


def _missing() -> NotFound:
    return NotFound("No such canned reply.", code="canned_reply_not_found")


class CannedReplies:
    def __init__(self, store: CannedReplyStore, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    async def list(self, who: Identity, q: str | None) -> CannedReplyList:
        prefix = ""
        if q and q.strip().removeprefix("/"):
            try:
                prefix = shortcut(q)
            except ValueError:
                return CannedReplyList(items=[])  # no shortcut can start that way
        docs = await self.store.replies(who.tenant_id, prefix)
        return CannedReplyList(items=[reply_view(d) for d in docs])

    async def get(self, who: Identity, reply_id: str) -> CannedReplyOut:
        return reply_view(await self._reply(who, reply_id))

    async def create(self, who: Identity, body: CannedReplyIn) -> CannedReplyOut:
        now = self.clock()
        doc = {"_id": f"cr_{uuid.uuid4().hex[:16]}", "tenant_id": who.tenant_id,
               "shortcut": body.shortcut, "title": body.title, "text": body.text,
               "created_at": now, "updated_at": now, "created_by": who.agent_id}
        try:
            await self.store.add(doc)
        except DuplicateShortcut:
            raise _taken(body.shortcut) from None
        return reply_view(doc)

    async def update(self, who: Identity, reply_id: str, body: CannedReplyPatch) -> CannedReplyOut:
        fields: Document = {k: v for k, v in body.model_dump(exclude_none=True).items()}
        fields["updated_at"] = self.clock()
        try:
            doc = await self.store.update(who.tenant_id, reply_id, fields)
        except DuplicateShortcut:
            raise _taken(body.shortcut or "") from None
        if doc is None:
            raise _missing()
        return reply_view(doc)

    async def delete(self, who: Identity, reply_id: str) -> None:
        if not await self.store.delete(who.tenant_id, reply_id):
            raise _missing()

    async def render(self, who: Identity, reply_id: str,
                     conversation_id: str | None) -> RenderedReply:
        doc = await self._reply(who, reply_id)
        conversation: Document = {}
        if conversation_id:
            found = await self.store.conversation(who.tenant_id, conversation_id)
            if found is None:
                raise NotFound("No such conversation.", code="conversation_not_found")
            conversation = found
        rendered = render(str(doc.get("text") or ""),
                          contact_of(conversation.get("contact_name"),
                                     conversation.get("customer_wa_id")))
        return RenderedReply(id=str(doc["_id"]), text=rendered.text,
                             missing=list(rendered.missing))

    async def _reply(self, who: Identity, reply_id: str) -> Document:
        doc = await self.store.reply(who.tenant_id, reply_id)
        if doc is None:
            raise _missing()
        return doc
