"""The conversations' read use cases: the list, one conversation, its thread, a media's number,
and a live change as the stream sends it."""

from __future__ import annotations

from typing import Any

from services.inbox_api.accounts.credentials import Identity
from services.inbox_api.accounts.service import AccountService
from services.inbox_api.conversations.cursors import (
    BadCursor,
    ListPosition,
    decode_list_cursor,
    decode_thread_cursor,
    encode_list_cursor,
    encode_thread_cursor,
)
from services.inbox_api.conversations.ports import Clock, Document, InboxRepository
from services.inbox_api.conversations.schemas import (
    ConversationOut,
    ConversationPage,
    MessagePage,
)
from services.inbox_api.conversations.stream import Change, ReadOnce
from services.inbox_api.conversations.views import conversation_view, message_view
from services.inbox_api.errors import BadRequest, NotFound
from shared.channels import Channel


class InboxQueries(AccountService):
    """Every read of the inbox, always inside the caller's tenant. It is the accounts' use cases
    too (authentication, ``/me``, agents): one object over one repository answers a request's
    who and what."""

    repository: InboxRepository

    def __init__(self, repository: InboxRepository, clock: Clock) -> None:
        super().__init__(repository, clock)
        self.repository = repository

    async def conversation(self, identity: Identity, conversation_id: str) -> ConversationOut:
        return conversation_view(await self._conversation_doc(identity, conversation_id),
                                 self.clock())

    async def _conversation_doc(self, identity: Identity, conversation_id: str) -> Document:
        doc = await self.repository.conversation(identity.tenant_id, conversation_id)
        if doc is None:
            raise NotFound("No such conversation.", code="conversation_not_found")
        return doc

    async def conversations(self, identity: Identity, *, filter: str, q: str | None,
                            cursor: str | None, limit: int) -> ConversationPage:
        after: ListPosition | None = None
        if cursor:
            try:
                after = decode_list_cursor(cursor)
            except BadCursor:
                raise BadRequest("The cursor is not one this API gave out.",
                                 code="bad_cursor", field="cursor") from None
        docs = await self.repository.conversations(
            identity.tenant_id, filter=filter, agent_id=identity.agent_id,
            q=q.strip() if q and q.strip() else None, after=after, limit=limit + 1)
        now = self.clock()
        page = docs[:limit]
        next_cursor = None
        if len(docs) > limit and page[-1].get("last_activity_at") is not None:
            next_cursor = encode_list_cursor(
                ListPosition(page[-1]["last_activity_at"], page[-1]["_id"]))
        return ConversationPage(items=[conversation_view(d, now) for d in page],
                                next_cursor=next_cursor)

    async def thread(self, identity: Identity, conversation_id: str, *, before: str | None,
                     limit: int) -> MessagePage:
        await self._conversation_doc(identity, conversation_id)
        sort_before = None
        if before:
            try:
                sort_before = decode_thread_cursor(before)
            except BadCursor:
                raise BadRequest("The cursor is not one this API gave out.",
                                 code="bad_cursor", field="before") from None
        docs = await self.repository.thread(identity.tenant_id, conversation_id, sort_before,
                                            limit + 1)
        page = docs[:limit]
        quoted = sorted({d["reply_to"]["wamid"] for d in page
                         if (d.get("reply_to") or {}).get("wamid")})
        previews = await self.repository.previews(identity.tenant_id, conversation_id, quoted)
        next_before = None
        if len(docs) > limit and page[-1].get("sort_key"):
            next_before = encode_thread_cursor(page[-1]["sort_key"])
        return MessagePage(items=[message_view(d, previews) for d in reversed(page)],
                           next_before=next_before)

    async def media_channel(self, identity: Identity, media_id: str) -> Channel | None:
        """The tenant's channel that received (or sent) this media, else None."""
        number = await self.repository.media_owner(identity.tenant_id, media_id)
        channel = await self.repository.channel(number) if number else None
        return channel if channel is not None and channel.tenant_id == identity.tenant_id else None

    async def render_change(self, tenant_id: str, change: Change,
                            reads: ReadOnce[dict[str, Any]] | None = None,
                            ) -> dict[str, Any] | None:
        """A stream event's data: the conversation as now stored, plus the touched messages.
        With ``reads``, every client of the replica shares one read per conversation version."""
        if change.tenant_id != tenant_id:
            return None  # the hub filters already; this keeps a bug there from leaking
        event = change.event
        if reads is None:
            data = await self._conversation_data(tenant_id, change)
        else:
            key = (tenant_id, event.conversation_id, event.summary.version)
            data = await reads.get(key, lambda: self._conversation_data(tenant_id, change))
        return {**data, "message_ids": list(event.message_ids)}

    async def _conversation_data(self, tenant_id: str, change: Change) -> dict[str, Any]:
        doc = await self.repository.conversation(tenant_id, change.event.conversation_id)
        if doc is None:
            doc = _summary_document(change)
        return conversation_view(doc, self.clock()).model_dump(mode="json")


def _summary_document(change: Change) -> Document:
    """The event's summary in the stored shape, when the document cannot be read."""
    s = change.event.summary
    return {"_id": s.conversation_id, "business_phone_number_id": s.business_phone_number_id,
            "customer_wa_id": s.customer_wa_id, "contact_name": s.contact_name,
            "last_message_preview": s.last_message_preview, "last_message_at": s.last_message_at,
            "last_activity_at": s.last_message_at, "last_inbound_at": s.last_inbound_at,
            "window_expires_at": s.window_expires_at, "unread_count": s.unread_count,
            "status": s.status, "assignee_id": s.assignee_id, "version": s.version}
