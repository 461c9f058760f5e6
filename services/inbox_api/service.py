"""The API's read use cases and credentials: who is calling, their conversations and threads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from services.inbox_api.auth import Identity, bearer_token, digest, new_session_token
from services.inbox_api.cursors import (
    BadCursor,
    ListPosition,
    decode_list_cursor,
    decode_thread_cursor,
    encode_list_cursor,
    encode_thread_cursor,
)
from services.inbox_api.errors import BadRequest, NotFound, Unauthorized
from services.inbox_api.ports import Document, InboxRepository
from services.inbox_api.schemas import (
    AgentList,
    ConversationOut,
    ConversationPage,
    Me,
    MessagePage,
    TemplateList,
)
from services.inbox_api.stream import Change, ReadOnce
from services.inbox_api.views import (
    agent_list,
    channel_view,
    conversation_view,
    message_view,
    template_view,
)
from shared.channels import Channel

Clock = Callable[[], datetime]


class InboxQueries:
    """Authentication and every read of the inbox, always inside the caller's tenant."""

    def __init__(self, repository: InboxRepository, clock: Clock) -> None:
        self.repository = repository
        self.clock = clock

    # -- credentials ---------------------------------------------------------------------------

    async def authenticate(self, authorization: str | None, session: str | None) -> Identity:
        """The caller of a bearer key (preferred) or a session cookie; else 401."""
        token = bearer_token(authorization)
        if token is not None:
            return await self.identity_of_key(token)
        if authorization:
            raise Unauthorized("The Authorization header must be 'Bearer <api key>'.")
        if session:
            token_hash = digest(session)
            doc = await self.repository.session(token_hash)
            if doc is not None and doc["expires_at"] > self.clock():
                return await self._identity(doc["key_hash"])
            if doc is not None:
                # Expired: gone for good, whether or not the database's TTL purge came by yet.
                await self.repository.delete_session(token_hash)
            raise Unauthorized("Your session has expired; sign in again.",
                               code="session_expired")
        raise Unauthorized("Send an API key (Authorization: Bearer wai_...) or sign in.")

    async def identity_of_key(self, key: str) -> Identity:
        return await self._identity(digest(key))

    async def _identity(self, key_hash: str) -> Identity:
        doc = await self.repository.api_key(key_hash)
        if doc is None or doc.get("revoked_at") is not None:
            raise Unauthorized("This API key is not valid (wrong, or revoked).",
                               code="invalid_credential")
        return Identity(tenant_id=doc["tenant_id"], agent_id=doc["agent_id"],
                        display_name=doc.get("display_name") or doc["agent_id"],
                        kind="service" if doc.get("kind") == "service" else "agent",
                        key_hash=key_hash)

    async def sign_in(self, api_key: str, lifetime_seconds: float) -> tuple[str, Identity]:
        """A new session for a valid key: the cookie's token (stored hashed)."""
        identity = await self.identity_of_key(api_key)
        token = new_session_token()
        now = self.clock()
        await self.repository.add_session({
            "_id": digest(token), "key_hash": identity.key_hash,
            "tenant_id": identity.tenant_id, "agent_id": identity.agent_id,
            "created_at": now, "expires_at": now + timedelta(seconds=lifetime_seconds)})
        return token, identity

    async def sign_out(self, session: str | None) -> None:
        if session:
            await self.repository.delete_session(digest(session))

    async def me(self, identity: Identity) -> Me:
        channels = await self.repository.tenant_channels(identity.tenant_id)
        return Me(tenant_id=identity.tenant_id, agent_id=identity.agent_id,
                  display_name=identity.display_name, kind=identity.kind,
                  channels=[channel_view(c) for c in channels])

    async def agents(self, identity: Identity) -> AgentList:
        return agent_list(await self.repository.agent_keys(identity.tenant_id))

    # -- reads ----------------------------------------------------------------------------

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

    async def templates(self, identity: Identity, status: str | None) -> TemplateList:
        docs = await self.repository.templates(identity.tenant_id, status)
        return TemplateList(items=[template_view(d) for d in docs])

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
