"""Private notes in a conversation (agents only, never sent to WhatsApp) and the caller's
mentions there."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from services.inbox_api.deps import Caller, Notes
from services.inbox_api.errors import error_responses
from services.inbox_api.notes.schemas import NoteIn, NoteList, NoteOut

router = APIRouter(tags=["notes"])

ConversationId = Annotated[str, Path(min_length=3, max_length=200,
                                     description="`{phone_number_id}:{wa_id}`")]


@router.post("/conversations/{conversation_id}/notes", status_code=201,
             responses=error_responses(401, 404, 422))
async def add_note(caller: Caller, notes: Notes, conversation_id: ConversationId,
                   body: NoteIn) -> NoteOut:
    """A private note in the thread: seen by the tenant's agents only, never sent to the
    customer. ``@name`` or ``@id`` mentions an agent: the conversation is marked for them
    (``mentions_unread`` in their list) until they open it."""
    return await notes.add(caller, conversation_id, body)


@router.get("/conversations/{conversation_id}/notes", responses=error_responses(401, 404, 422))
async def list_notes(caller: Caller, notes: Notes, conversation_id: ConversationId) -> NoteList:
    """The conversation's notes, oldest first."""
    return await notes.notes(caller, conversation_id)


@router.post("/conversations/{conversation_id}/mentions/read", status_code=204,
             response_class=Response, responses=error_responses(401, 404, 422))
async def read_mentions(caller: Caller, notes: Notes,
                        conversation_id: ConversationId) -> Response:
    """The caller opened the conversation: their mention marker there is cleared."""
    await notes.read_mentions(caller, conversation_id)
    return Response(status_code=204)
