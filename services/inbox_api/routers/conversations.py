"""Conversations: the list, one conversation, its thread, and opening one with a template."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Query

from services.inbox_api.deps import Caller, Commands, IdempotencyKey, Queries
from services.inbox_api.errors import error_responses
from services.inbox_api.schemas import (
    CommandAccepted,
    ConversationOut,
    ConversationPage,
    MessagePage,
    NewConversationIn,
)

router = APIRouter(tags=["conversations"])

ConversationId = Annotated[str, Path(min_length=3, max_length=200,
                                     description="`{phone_number_id}:{wa_id}`")]
ListFilter = Literal["all", "open", "resolved", "unread", "mine", "unassigned"]


@router.get("/conversations", responses=error_responses(400, 401, 422))
async def list_conversations(
    caller: Caller, queries: Queries,
    filter: ListFilter = "all",
    q: Annotated[str | None, Query(max_length=100,
                                   description="Contact name prefix, number, or text")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> ConversationPage:
    """The tenant's conversations, latest activity first (keyset pagination)."""
    return await queries.conversations(caller, filter=filter, q=q, cursor=cursor, limit=limit)


@router.post("/conversations", status_code=202, responses=error_responses(401, 404, 409, 422))
async def open_conversation(caller: Caller, commands: Commands,
                            body: Annotated[NewConversationIn, Body()],
                            idempotency_key: IdempotencyKey = None) -> CommandAccepted:
    """Send a template to a customer of one of your numbers, whether or not they wrote before.
    The conversation appears once the send is processed (``conversation_id`` in the answer)."""
    return await commands.open_conversation(caller, body, idempotency_key)


@router.get("/conversations/{conversation_id}", responses=error_responses(401, 404, 422))
async def get_conversation(caller: Caller, queries: Queries,
                           conversation_id: ConversationId) -> ConversationOut:
    return await queries.conversation(caller, conversation_id)


@router.get("/conversations/{conversation_id}/messages",
            responses=error_responses(400, 401, 404, 422))
async def list_messages(
    caller: Caller, queries: Queries, conversation_id: ConversationId,
    before: Annotated[str | None, Query(max_length=2000)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> MessagePage:
    """The thread, newest page first; inside a page, oldest to newest."""
    return await queries.thread(caller, conversation_id, before=before, limit=limit)
