"""Canned replies (``/canned-replies``): every agent may list, use and manage them
(docs/inbox-api.md, "Canned replies")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from services.inbox_api.canned_replies.schemas import (
    CannedReplyIn,
    CannedReplyList,
    CannedReplyOut,
    CannedReplyPatch,
    RenderedReply,
)
from services.inbox_api.deps import Caller, CannedRepliesDep
from services.inbox_api.errors import error_responses

router = APIRouter(tags=["canned replies"])

ReplyId = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/canned-replies", responses=error_responses(401))
async def list_replies(caller: Caller, canned: CannedRepliesDep,
                       q: Annotated[str | None, Query(max_length=64,
                                                      description="a shortcut's start")] = None,
                       ) -> CannedReplyList:
    """The tenant's canned replies by shortcut; with ``q``, those whose shortcut starts so."""
    return await canned.list(caller, q)


@router.post("/canned-replies", status_code=201, responses=error_responses(401, 422))
async def create_reply(body: CannedReplyIn, caller: Caller,
                       canned: CannedRepliesDep) -> CannedReplyOut:
    return await canned.create(caller, body)


@router.get("/canned-replies/{reply_id}", responses=error_responses(401, 404))
async def get_reply(reply_id: ReplyId, caller: Caller, canned: CannedRepliesDep) -> CannedReplyOut:
    return await canned.get(caller, reply_id)


@router.patch("/canned-replies/{reply_id}", responses=error_responses(401, 404, 422))
async def update_reply(reply_id: ReplyId, body: CannedReplyPatch, caller: Caller,
                       canned: CannedRepliesDep) -> CannedReplyOut:
    return await canned.update(caller, reply_id, body)


@router.delete("/canned-replies/{reply_id}", status_code=204, response_class=Response,
               responses=error_responses(401, 404))
async def delete_reply(reply_id: ReplyId, caller: Caller, canned: CannedRepliesDep) -> Response:
    await canned.delete(caller, reply_id)
    return Response(status_code=204)


@router.get("/canned-replies/{reply_id}/render", responses=error_responses(401, 404))
async def render_reply(reply_id: ReplyId, caller: Caller, canned: CannedRepliesDep,
                       conversation_id: Annotated[str | None, Query(max_length=200)] = None,
                       ) -> RenderedReply:
    """The reply's text filled with the conversation's contact, for the composer (not sent)."""
    return await canned.render(caller, reply_id, conversation_id)
