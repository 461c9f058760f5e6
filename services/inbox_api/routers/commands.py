"""Commands on a conversation; each answers 202 once the command is on inbox.commands.v1."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from services.inbox_api.deps import Caller, Commands, IdempotencyKey
from services.inbox_api.errors import error_responses
from services.inbox_api.routers.conversations import ConversationId
from services.inbox_api.schemas import (
    AssigneeIn,
    CommandAccepted,
    ReactionIn,
    ReadIn,
    SendIn,
    StatusIn,
)

router = APIRouter(tags=["commands"])
SEND_ERRORS = error_responses(401, 404, 409, 422, 503)
ERRORS = error_responses(401, 404, 422, 503)


@router.post("/conversations/{conversation_id}/messages", status_code=202,
             responses=SEND_ERRORS)
async def send_message(caller: Caller, commands: Commands, conversation_id: ConversationId,
                       body: Annotated[SendIn, Body()],
                       idempotency_key: IdempotencyKey = None) -> CommandAccepted:
    """A free-form text (inside the 24 h window) or an approved template with its variables."""
    return await commands.send(caller, conversation_id, body, idempotency_key)


@router.post("/conversations/{conversation_id}/reactions", status_code=202,
             responses=SEND_ERRORS)
async def react(caller: Caller, commands: Commands, conversation_id: ConversationId,
                body: ReactionIn, idempotency_key: IdempotencyKey = None) -> CommandAccepted:
    """React to a message (``emoji`` "" removes the reaction)."""
    return await commands.react(caller, conversation_id, body, idempotency_key)


@router.post("/conversations/{conversation_id}/read", status_code=202, responses=ERRORS)
async def mark_read(caller: Caller, commands: Commands, conversation_id: ConversationId,
                    body: Annotated[ReadIn | None, Body()] = None,
                    idempotency_key: IdempotencyKey = None) -> CommandAccepted:
    """Mark read up to a message (or everything): clears unread, blue ticks on WhatsApp."""
    return await commands.mark_read(caller, conversation_id, body or ReadIn(),
                                    idempotency_key)


@router.post("/conversations/{conversation_id}/status", status_code=202, responses=ERRORS)
async def set_status(caller: Caller, commands: Commands, conversation_id: ConversationId,
                     body: StatusIn, idempotency_key: IdempotencyKey = None) -> CommandAccepted:
    """Resolve or reopen."""
    return await commands.set_status(caller, conversation_id, body, idempotency_key)


@router.post("/conversations/{conversation_id}/assignee", status_code=202, responses=ERRORS)
async def assign(caller: Caller, commands: Commands, conversation_id: ConversationId,
                 body: AssigneeIn, idempotency_key: IdempotencyKey = None) -> CommandAccepted:
    """Assign to an agent (``"me"`` = the caller) or unassign (null)."""
    return await commands.assign(caller, conversation_id, body, idempotency_key)
