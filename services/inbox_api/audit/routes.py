"""The audit log's HTTP: the recording middleware, and for admins a keyset page (``/audit``),
one entry, and a CSV export (``/audit.csv``), filtered by agent, action and time
(docs/inbox-api.md, "Audit log").

The middleware records every agent action, whichever route does it: complete by construction.
It is pure ASGI (the event stream passes through untouched). For a mutating request (POST, PUT,
PATCH, DELETE) under ``/api/v1`` it keeps the first 64 KiB of the body as the app reads it, and,
when the answer is a 2xx, records an entry: the caller (the identity the request authenticated
as, left in the scope by ``deps.current_identity``), the action named from the route template
(actions.py), the path parameters as the target, and a whitelisted summary of the body
(redaction.py). A sign-in is recorded whether it succeeds (the caller is the new session's) or
fails. Recording only queues the entry (recorder.py): it never slows or fails the request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from http.cookies import SimpleCookie
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.inbox_api.accounts.credentials import Identity
from services.inbox_api.accounts.service import person_identity
from services.inbox_api.audit.actions import API_PREFIX, MUTATING, SIGN_IN, action_name, target
from services.inbox_api.audit.actions import route_path as strip_prefix
from services.inbox_api.audit.ports import AuditQuery
from services.inbox_api.audit.redaction import summary
from services.inbox_api.audit.schemas import AuditEntryOut, AuditPage
from services.inbox_api.audit.service import AuditLog, new_entry
from services.inbox_api.deps import IDENTITY_SCOPE_KEY, SESSION_COOKIE, AuditDep, RequireAdmin
from services.inbox_api.errors import InvalidInput, error_responses
from services.inbox_api.metrics import route_template

router = APIRouter(tags=["audit"])

Agent = Annotated[str | None, Query(max_length=200, description="an agent id")]
Action = Annotated[str | None, Query(max_length=80, pattern=r"^[a-z_]+\.[a-z_]+$",
                                     description="e.g. conversation.reply")]
Since = Annotated[AwareDatetime | None, Query(description="from this time (inclusive)")]
Until = Annotated[AwareDatetime | None, Query(description="before this time")]


def _query(agent: str | None, action: str | None, since: datetime | None,
           until: datetime | None) -> AuditQuery:
    if since is not None and until is not None and since >= until:
        raise InvalidInput("since must be before until.", code="validation_failed",
                           field="since")
    return AuditQuery(agent_id=agent, action=action, since=since, until=until)


@router.get("/audit", responses=error_responses(400, 401, 403, 422))
async def audit_page(caller: RequireAdmin, audit: AuditDep, agent: Agent = None,
                     action: Action = None, since: Since = None, until: Until = None,
                     cursor: Annotated[str | None, Query(max_length=500)] = None,
                     limit: Annotated[int, Query(ge=1, le=200)] = 50) -> AuditPage:
    """The tenant's audit entries, newest first; ``next_cursor`` asks for older ones."""
    return await audit.page(caller, _query(agent, action, since, until), cursor, limit)


@router.get("/audit.csv", response_class=StreamingResponse,
            responses={**error_responses(401, 403, 422),
                       200: {"content": {"text/csv": {}}, "description": "The entries as CSV"}})
async def audit_csv(caller: RequireAdmin, audit: AuditDep, agent: Agent = None,
                    action: Action = None, since: Since = None,
                    until: Until = None) -> StreamingResponse:
    """Every matching entry as CSV (newest first; up to 100,000: narrow the time to go back)."""
    rows = audit.csv(caller, _query(agent, action, since, until))
    return StreamingResponse(rows, media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="audit.csv"'})


@router.get("/audit/{entry_id}", responses=error_responses(401, 403, 404))
async def audit_entry(entry_id: Annotated[str, Path(min_length=1, max_length=64)],
                      caller: RequireAdmin, audit: AuditDep) -> AuditEntryOut:
    return await audit.entry(caller, entry_id)


# -- the recording middleware ------------------------------------------------------------------

log = logging.getLogger(__name__)
BODY_KEPT = 64 * 1024


class AuditMiddleware:
    def __init__(self, app: ASGIApp, router_owner: Any,
                 clock: Callable[[], datetime]) -> None:
        self.app = app
        self.router_owner = router_owner
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope.get("method", "GET") if scope["type"] == "http" else ""
        if method not in MUTATING or not str(scope.get("path", "")).startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        kept = 0
        status = 0
        cookie: str | None = None

        async def receive_and_keep() -> Message:
            nonlocal kept
            message = await receive()
            if message["type"] == "http.request" and kept < BODY_KEPT:
                body = message.get("body", b"")
                chunks.append(body[:BODY_KEPT - kept])
                kept += len(body)
            return message

        async def send_and_note(message: Message) -> None:
            nonlocal status, cookie
            if message["type"] == "http.response.start":
                status = int(message["status"])
                cookie = _session_cookie(message.get("headers") or [])
            await send(message)

        await self.app(scope, receive_and_keep, send_and_note)
        try:
            template = route_template(self.router_owner, scope)
            await self._record(scope, template, method, status, b"".join(chunks), kept,
                               cookie)
        except Exception:  # the request succeeded; auditing it must not turn it into a failure
            log.exception("audit entry not recorded")

    async def _record(self, scope: Scope, template: str, method: str, status: int, raw: bytes,
                      size: int, cookie: str | None) -> None:
        state = scope.get("state") or {}
        audit: AuditLog | None = state.get("audit")
        sign_in = (method, strip_prefix(template)) == SIGN_IN
        if audit is None or not (200 <= status < 300 or sign_in):
            return
        body = _json(raw, scope) if size <= BODY_KEPT else None
        action = action_name(method, template, body)
        if action is None:
            return
        callers: list[Identity | None] = [scope.get(IDENTITY_SCOPE_KEY)]
        accounts = state.get("accounts") or state.get("queries")
        if sign_in and 200 <= status < 300 and cookie:
            callers = [await accounts.authenticate(None, cookie) if accounts else None]
        elif sign_in:
            # A wrong password is in the log of every team the email belongs to.
            action = "session.sign_in_failed"
            callers = [*await _people(accounts, body)] or [None]
        for who in callers:
            audit.record(new_entry(
                tenant_id=who.tenant_id if who else None, at=self.clock(), who=who,
                action=action, method=method, route=template,
                target=target(scope.get("path_params") or {}), summary=summary(body),
                status=status))


async def _people(accounts: Any, body: Any) -> list[Identity]:
    """The people an email names (one per team it belongs to), when the app has people."""
    email = body.get("email") if isinstance(body, dict) else None
    people = getattr(accounts, "people", None)
    if not isinstance(email, str) or not email.strip() or people is None:
        return []
    return [person_identity(doc) for doc in await people.agents_by_email(email.strip().casefold())]


def _json(raw: bytes, scope: Scope) -> Any:
    headers = dict(scope.get("headers") or [])
    if not raw or not headers.get(b"content-type", b"").startswith(b"application/json"):
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _session_cookie(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name.lower() == b"set-cookie":
            jar: SimpleCookie = SimpleCookie()
            jar.load(value.decode("latin-1"))
            if SESSION_COOKIE in jar and jar[SESSION_COOKIE].value:
                return jar[SESSION_COOKIE].value
    return None
