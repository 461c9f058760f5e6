"""The labels' use cases: a tenant's labels (list, create, rename or recolour, delete) and the
labels of a conversation (put one on, take one off, or set them all)."""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections.abc import Callable, Sequence
from datetime import datetime

from services.inbox_api.accounts.credentials import Identity
from services.inbox_api.errors import InvalidInput, NotFound
from services.inbox_api.labels.ports import DuplicateLabel, LabelStore
from services.inbox_api.labels.rules import name_key
from services.inbox_api.labels.schemas import (
    ConversationLabels,
    LabelIn,
    LabelList,
    LabelOut,
    LabelPatch,
)
from services.inbox_api.labels.views import conversation_labels, label_view


def _taken(name: str) -> InvalidInput:
    return InvalidInput(f"A label named {name!r} exists already.", code="label_exists",
                        field="name")


class Labels:
    def __init__(self, store: LabelStore, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock
        # Held only while in use (weakly): one per conversation being changed now.
        self.locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary())

    async def list(self, who: Identity) -> LabelList:
        return LabelList(items=[label_view(d) for d in await self.store.labels(who.tenant_id)])

    async def create(self, who: Identity, body: LabelIn) -> LabelOut:
        doc = {"_id": f"lbl_{uuid.uuid4().hex[:16]}", "tenant_id": who.tenant_id,
               "name": body.name, "name_key": name_key(body.name), "colour": body.colour,
               "created_at": self.clock(), "created_by": who.agent_id}
        try:
            await self.store.add_label(doc)
        except DuplicateLabel:
            raise _taken(body.name) from None
        return label_view(doc)

    async def update(self, who: Identity, label_id: str, body: LabelPatch) -> LabelOut:
        fields: dict[str, object] = {"updated_at": self.clock()}
        if body.name is not None:
            fields |= {"name": body.name, "name_key": name_key(body.name)}
        if body.colour is not None:
            fields["colour"] = body.colour
        try:
            doc = await self.store.update_label(who.tenant_id, label_id, fields)
        except DuplicateLabel:
            raise _taken(body.name or "") from None
        if doc is None:
            raise _no_label()
        return label_view(doc)

    async def delete(self, who: Identity, label_id: str) -> None:
        if not await self.store.delete_label(who.tenant_id, label_id):
            raise _no_label()

    async def of_conversation(self, who: Identity, conversation_id: str) -> ConversationLabels:
        await self._conversation(who, conversation_id)
        ids = await self.store.conversation_labels(who.tenant_id, conversation_id)
        return conversation_labels(conversation_id, ids, await self.store.labels(who.tenant_id))

    async def put(self, who: Identity, conversation_id: str, label_id: str) -> ConversationLabels:
        await self._conversation(who, conversation_id)
        if await self.store.label(who.tenant_id, label_id) is None:
            raise _no_label()
        return await self._change(who, conversation_id, add=[label_id])

    async def take_off(self, who: Identity, conversation_id: str,
                       label_id: str) -> ConversationLabels:
        await self._conversation(who, conversation_id)
        return await self._change(who, conversation_id, remove=[label_id])

    async def set(self, who: Identity, conversation_id: str,
                  label_ids: Sequence[str]) -> ConversationLabels:
        await self._conversation(who, conversation_id)
        known = {d["_id"] for d in await self.store.labels(who.tenant_id)}
        unknown = [i for i in label_ids if i not in known]
        if unknown:
            raise InvalidInput(f"No such label: {unknown[0]}.", code="label_not_found",
                               field="label_ids")
        return await self._change(who, conversation_id, replace=label_ids)

    async def _change(self, who: Identity, conversation_id: str, *,
                      add: Sequence[str] = (), remove: Sequence[str] = (),
                      replace: Sequence[str] | None = None) -> ConversationLabels:
        # One change of a conversation's labels at a time in this process: FerretDB v1 can lose
        # one of two concurrent updates of a document (docs/infrastructure.md).
        lock = self.locks.get(conversation_id)
        if lock is None:
            lock = self.locks[conversation_id] = asyncio.Lock()
        async with lock:
            at = self.clock()
            ids = await self.store.change_labels(who.tenant_id, conversation_id, add=add,
                                                 remove=remove, replace=replace, at=at)
        return conversation_labels(conversation_id, ids, await self.store.labels(who.tenant_id),
                                   at)

    async def _conversation(self, who: Identity, conversation_id: str) -> None:
        if not await self.store.conversation_exists(who.tenant_id, conversation_id):
            raise NotFound("No such conversation.", code="conversation_not_found")


def _no_label() -> NotFound:
    return NotFound("No such label.", code="label_not_found")
