"""Presence: the caller's heartbeat on an open conversation, their goodbye, and who is there."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from services.inbox_api.deps import Caller, PresenceDep
from services.inbox_api.errors import error_responses
from services.inbox_api.presence.schemas import PresenceIn, PresenceList

router = APIRouter(tags=["presence"])

ConversationId = Annotated[str, Path(min_length=3, max_length=200,
                                     description="`{phone_number_id}:{wa_id}`")]


@router.put("/conversations/{conversation_id}/presence",
            responses=error_responses(401, 404, 422))
async def beat(caller: Caller, presence: PresenceDep, conversation_id: ConversationId,
               body: PresenceIn) -> PresenceList:
    """The caller has the thread open (``viewing``) or is writing in it (``typing``). Send every
    ``heartbeat_seconds`` while the thread is visible, and ``typing`` while keys are pressed:
    an entry lasts 25 s after its last beat, typing 6 s. Answers who is there now."""
    return await presence.beat(caller, conversation_id, body)


@router.delete("/conversations/{conversation_id}/presence", status_code=204,
               response_class=Response, responses=error_responses(401, 404, 422))
async def leave(caller: Caller, presence: PresenceDep,
                conversation_id: ConversationId) -> Response:
    """The caller left the thread (or closed the tab): they are no longer shown there."""
    await presence.leave(caller, conversation_id)
    return Response(status_code=204)


@router.get("/conversations/{conversation_id}/presence",
            responses=error_responses(401, 404, 422))
async def present(caller: Caller, presence: PresenceDep,
                  conversation_id: ConversationId) -> PresenceList:
    """Who has the conversation open now, and who is typing: typing first, then by arrival."""
    return await presence.present(caller, conversation_id)
