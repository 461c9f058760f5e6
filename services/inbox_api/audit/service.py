"""The audit log's use cases: record an action (through the background recorder), and read the
tenant's entries (a keyset page, one entry, or every matching entry as CSV). Reading is for
admins only (the routes take ``RequireAdmin``)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from typing import Any

from services.inbox_api.accounts.credentials import Identity
from services.inbox_api.audit.cursors import BadCursor, decode, encode
from services.inbox_api.audit.ports import AuditQuery, AuditStore, Document
from services.inbox_api.audit.recorder import AuditRecorder
from services.inbox_api.audit.schemas import AuditEntryOut, AuditPage
from services.inbox_api.audit.views import csv_text, entry_view
from services.inbox_api.errors import BadRequest, NotFound

CSV_PAGE = 500
# An export is the newest entries up to this many; narrow since/until for older ones.
CSV_MAX = 100_000


def new_entry(*, tenant_id: str | None, at: datetime, who: Identity | None, action: str,
              method: str, route: str, target: Mapping[str, str],
              summary: Mapping[str, Any], status: int) -> Document:
    return {"_id": f"aud_{uuid.uuid4().hex}", "tenant_id": tenant_id, "at": at,
            "agent_id": who.agent_id if who else None,
            "agent_name": who.display_name if who else None,
            "agent_kind": who.kind if who else None,
            "role": getattr(who, "role", None) if who else None,
            "action": action, "method": method, "route": route, "target": dict(target),
            "summary": dict(summary), "status": status}


class AuditLog:
    def __init__(self, store: AuditStore, recorder: AuditRecorder,
                 clock: Callable[[], datetime]) -> None:
        self.store = store
        self.recorder = recorder
        self.clock = clock

    def record(self, entry: Document) -> None:
        self.recorder.record(entry)

    async def page(self, who: Identity, query: AuditQuery, cursor: str | None,
                   limit: int) -> AuditPage:
        if cursor:
            try:
                query = AuditQuery(query.agent_id, query.action, query.since, query.until,
                                   decode(cursor))
            except BadCursor:
                raise BadRequest("The cursor is not one this API gave out.", code="bad_cursor",
                                 field="cursor") from None
        docs = await self.store.entries(who.tenant_id, query, limit + 1)
        items = [entry_view(d) for d in docs[:limit]]
        next_cursor = encode(items[-1].at, items[-1].id) if len(docs) > limit else None
        return AuditPage(items=items, next_cursor=next_cursor)

    async def entry(self, who: Identity, entry_id: str) -> AuditEntryOut:
        doc = await self.store.entry(who.tenant_id, entry_id)
        if doc is None:
            raise NotFound("No such audit entry.", code="audit_entry_not_found")
        return entry_view(doc)

    async def csv(self, who: Identity, query: AuditQuery) -> AsyncIterator[str]:
        """Every matching entry, newest first, as CSV text in chunks (a header first)."""
        yield csv_text([], header=True)
        sent = 0
        while sent < CSV_MAX:
            docs = await self.store.entries(who.tenant_id, query, CSV_PAGE)
            if not docs:
                return
            entries = [entry_view(d) for d in docs]
            sent += len(entries)
            yield csv_text(entries, header=False)
            if len(docs) < CSV_PAGE:
                return
            query = AuditQuery(query.agent_id, query.action, query.since, query.until,
                               (docs[-1]["at"], str(docs[-1]["_id"])))
