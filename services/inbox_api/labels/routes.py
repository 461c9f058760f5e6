"""Labels: the tenant's list (``/labels``), and a conversation's
(``/conversations/{id}/labels``). Every agent may use them (docs/inbox-api.md, "Labels")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from services.inbox_api.deps import Caller, LabelsDep
from services.inbox_api.errors import error_responses
from services.inbox_api.labels.schemas import (
    ConversationLabels,
    ConversationLabelsIn,
    LabelIn,
    LabelList,
    LabelOut,
    LabelPatch,
)

router = APIRouter(tags=["labels"])

LabelId = Annotated[str, Path(min_length=1, max_length=64)]
ConversationId = Annotated[str, Path(min_length=1, max_length=200)]


@router.get("/labels", responses=error_responses(401))
async def list_labels(caller: Caller, labels: LabelsDep) -> LabelList:
    """The tenant's labels, by name."""
    return await labels.list(caller)


@router.post("/labels", status_code=201, responses=error_responses(401, 422))
async def create_label(body: LabelIn, caller: Caller, labels: LabelsDep) -> LabelOut:
    """A new label; names are unique per tenant (case-insensitive), the colour is ``#rrggbb``."""
    return await labels.create(caller, body)


@router.patch("/labels/{label_id}", responses=error_responses(401, 404, 422))
async def update_label(label_id: LabelId, body: LabelPatch, caller: Caller,
                       labels: LabelsDep) -> LabelOut:
    return await labels.update(caller, label_id, body)


@router.delete("/labels/{label_id}", status_code=204, response_class=Response,
               responses=error_responses(401, 404))
async def delete_label(label_id: LabelId, caller: Caller, labels: LabelsDep) -> Response:
    """Delete the label; it leaves every conversation that had it."""
    await labels.delete(caller, label_id)
    return Response(status_code=204)


@router.get("/conversations/{conversation_id}/labels", responses=error_responses(401, 404))
async def conversation_labels(conversation_id: ConversationId, caller: Caller,
                              labels: LabelsDep) -> ConversationLabels:
    return await labels.of_conversation(caller, conversation_id)


@router.put("/conversations/{conversation_id}/labels", responses=error_responses(401, 404, 422))
async def set_conversation_labels(conversation_id: ConversationId, body: ConversationLabelsIn,
                                  caller: Caller, labels: LabelsDep) -> ConversationLabels:
    """Set the conversation's labels to exactly these (an unknown label id is a 422)."""
    return await labels.set(caller, conversation_id, body.label_ids)


@router.post("/conversations/{conversation_id}/labels/{label_id}",
             responses=error_responses(401, 404))
async def put_label(conversation_id: ConversationId, label_id: LabelId, caller: Caller,
                    labels: LabelsDep) -> ConversationLabels:
    """Put a label on the conversation (already there: no change)."""
    return await labels.put(caller, conversation_id, label_id)


@router.delete("/conversations/{conversation_id}/labels/{label_id}",
               responses=error_responses(401, 404))
async def take_label_off(conversation_id: ConversationId, label_id: LabelId, caller: Caller,
                         labels: LabelsDep) -> ConversationLabels:
    """Take a label off the conversation (not there: no change)."""
    return await labels.take_off(caller, conversation_id, label_id)
