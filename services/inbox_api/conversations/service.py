"""The conversations' read use cases: the list, one conversation, its thread (with its media's
archive state), and a live change as the stream sends it. A media's bytes: media.py."""

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
from services.inbox_api.conversations.preferences import marker, opt_out_ids
from services.inbox_api.conversations.schemas import (
    ConversationLabel,
    ConversationOut,
    ConversationPage,
    MessagePage,
)
from services.inbox_api.conversations.stream import Change, ReadOnce
from services.inbox_api.conversations.views import (
    conversation_view,
    label_chips,
    media_id_of,
    message_view,
)
from services.inbox_api.errors import BadRequest, NotFound


class InboxQueries(AccountService):
    """Every read of the inbox, always inside the caller's tenant. It is the accounts' use cases
    too (authentication, ``/me``, agents): one object over one repository answers a request's
    who and what."""

    repository: InboxRepository

    def __init__(self, repository: InboxRepository, clock: Clock) -> None:
        super().__init__(repository, clock)
        self.repository = repository

    async def conversation(self, identity: Identity, conversation_id: str) -> ConversationOut:
        doc = await self._conversation_doc(identity, conversation_id)
        [shown] = await self._views(identity.tenant_id, [doc])
        return shown

    async def _views(self, tenant_id: str, docs: list[Document]) -> list[ConversationOut]:
        """The conversations as shown, with the opted-out marker of their customers (one
        ``_id $in`` read of ``opt_outs`` for all of them; preferences.py)."""
        now = self.clock()
        keys = opt_out_ids(tenant_id, docs)
        found = {d["_id"]: d for d in await self.repository.opt_outs(list(keys.values()))}
        carried = (await self.repository.conversation_labels(tenant_id,
                                                             [str(d["_id"]) for d in docs])
                   if docs else {})
        chips = await self._labels(tenant_id, carried)
        return [conversation_view(d, now).model_copy(update={
                    "marketing_opt_out": marker(found.get(keys.get(str(d["_id"]), ""))),
                    "labels": chips.get(str(d["_id"]), []),
                    "labels_at": carried.get(str(d["_id"]), {}).get("updated_at")})
                for d in docs]

    async def _labels(self, tenant_id: str,
                      carried: dict[str, Document]) -> dict[str, list[ConversationLabel]]:
        """The conversations' labels (labels/), in the tenant's label order (by name)."""
        if not any(doc.get("label_ids") for doc in carried.values()):
            return {}
        labels = await self.repository.label_names(tenant_id)
        return {cid: label_chips(labels, {str(x) for x in doc.get("label_ids") or []})
                for cid, doc in carried.items()}

    async def _conversation_doc(self, identity: Identity, conversation_id: str) -> Document:
        doc = await self.repository.conversation(identity.tenant_id, conversation_id)
        if doc is None:
            raise NotFound("No such conversation.", code="conversation_not_found")
        return doc

    async def conversations(self, identity: Identity, *, filter: str, q: str | None,
                            cursor: str | None, limit: int,
                            label: str | None = None) -> ConversationPage:
        after: ListPosition | None = None
        if cursor:
            try:
                after = decode_list_cursor(cursor)
            except BadCursor:
                raise BadRequest("The cursor is not one this API gave out.",
                                 code="bad_cursor", field="cursor") from None
        docs = await self.repository.conversations(
            identity.tenant_id, filter=filter, agent_id=identity.agent_id,
            q=q.strip() if q and q.strip() else None, after=after, limit=limit + 1,
            label=label)
        page = docs[:limit]
        next_cursor = None
        if len(docs) > limit and page[-1].get("last_activity_at") is not None:
            next_cursor = encode_list_cursor(
                ListPosition(page[-1]["last_activity_at"], page[-1]["_id"]))
        return ConversationPage(items=await self._views(identity.tenant_id, page),
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
        campaigns = sorted({d["campaign_id"] for d in page if d.get("campaign_id")})
        names = await self.repository.campaign_names(identity.tenant_id, campaigns)
        media_ids = sorted({m for d in page if d.get("direction") == "inbound"
                            and (m := media_id_of(d.get("message_type") or "",
                                                  d.get("content") or {}))})
        archives = await self.repository.archived_media(identity.tenant_id, media_ids)
        next_before = None
        if len(docs) > limit and page[-1].get("sort_key"):
            next_before = encode_thread_cursor(page[-1]["sort_key"])
        return MessagePage(items=[message_view(d, previews, names, archives)
                                  for d in reversed(page)],
                           next_before=next_before)

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
        [shown] = await self._views(tenant_id, [doc])
        return shown.model_dump(mode="json")


def _summary_document(change: Change) -> Document:
    """The event's summary in the stored shape, when the document cannot be read."""
    s = change.event.summary
    return {"_id": s.conversation_id, "business_phone_number_id": s.business_phone_number_id,
            "customer_wa_id": s.customer_wa_id, "contact_name": s.contact_name,
            "last_message_preview": s.last_message_preview, "last_message_at": s.last_message_at,
            "last_activity_at": s.last_message_at, "last_inbound_at": s.last_inbound_at,
            "window_expires_at": s.window_expires_at, "unread_count": s.unread_count,
            "status": s.status, "assignee_id": s.assignee_id, "version": s.version,
            "merged_into": s.merged_into}
