"""Message-document rules of the fold: stubs, status history, outcomes, reactions. Pure.

Each rule is idempotent on its own (insert if absent, add a status once, last writer by time
wins), which is what lets the fold redo message effects of a replayed position safely
(projection.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from services.conversation_store.documents import (
    Conversation,
    Direction,
    ErrorInfo,
    Message,
    Reaction,
    ReplyTo,
    StatusEntry,
    command_message_id,
    message_id,
    ms,
    sort_key,
)
from services.conversation_store.statuses import better_outcome, merge, proven_outcome, shown
from services.conversation_store.thread import Thread
from shared.events import MetaError, OutboundResult, StatusUpdate

EDIT_TYPES = frozenset({"edit", "message_edit", "edited"})
DELETE_TYPES = frozenset({"revoke", "delete", "deleted", "message_revoke", "message_delete"})


def by_wamid(messages: Mapping[str, Message], wamid: str) -> Message | None:
    """The message with this wamid: its real document before a stub, if both are loaded."""
    found = [m for m in messages.values() if m.wamid == wamid]
    found.sort(key=lambda m: m.stub)
    return found[0] if found else None


def by_command(thread: Thread, status: StatusUpdate,
                conversation: Conversation) -> Message | None:
    """The message of the command that sent this status's message (named in Meta's echo of
    ``biz_opaque_callback_data``) when no message has its wamid yet: a send in doubt, a failed
    one, or a stub keyed by the command when the status beat the sender's result."""
    if status.command_id is None:
        return None
    mid = command_message_id(thread.id, status.command_id)
    message = thread.messages.get(mid)
    if message is None:
        return new_stub(thread, status.wamid, conversation, "outbound", status.command_id)
    if message.direction != "outbound" or message.wamid not in (None, status.wamid):
        return None  # never one message for two wamids: the status gets its own stub
    return message


def new_stub(thread: Thread, wamid: str, conversation: Conversation, direction: Direction,
          command_id: str | None = None) -> Message:
    """A placeholder holding what arrived before the message itself: keyed by the command when
    Meta named it (the sender's result, whichever it is, then finds it), else by the wamid."""
    return Message(
        id=(message_id(thread.id, wamid) if command_id is None
            else command_message_id(thread.id, command_id)),
        tenant_id=conversation.tenant_id, conversation_id=thread.id,
        business_phone_number_id=conversation.business_phone_number_id,
        direction=direction, wamid=wamid, command_id=command_id, visible=False, stub=True,
    )


def with_status(message: Message, entry: StatusEntry) -> Message:
    history = merge(message.statuses, entry)
    if history == message.statuses:
        return message
    status, status_at, error = shown(history)
    if message.direction == "inbound" and not message.stub:
        status, status_at, error = message.status, message.status_at, message.error
    return message.model_copy(update={
        "statuses": history, "status": status, "status_at": status_at, "error": error})


def with_outcome(message: Message, event: OutboundResult, entry: StatusEntry) -> Message:
    message = with_status(message, entry)
    if better_outcome(message.outcome, entry.status):
        message = message.model_copy(update={"outcome": entry.status})
    return message


def proven(message: Message, wamid: str, status: str) -> Message:
    """A command's message Meta reported on: its wamid, and Meta had the send (or failed it)."""
    outcome = proven_outcome(status)
    updates: dict[str, object] = {}
    if message.wamid is None:
        updates["wamid"] = wamid
    if message.outcome != outcome and better_outcome(message.outcome, outcome):
        updates["outcome"] = outcome
    return message.model_copy(update=updates) if updates else message


def became_sent(before: Message | None, after: Message) -> bool:
    """Whether the thread shows ``after`` as accepted for the first time, without the sender's
    ``outbound.accepted`` (which applies its own effects): a send in doubt Meta reported on."""
    return (after.outcome == "accepted" and not after.stub
            and (before is None or before.stub or before.outcome != "accepted"))


def settled(message: Message, at: datetime) -> Message:
    """An in-doubt send Meta proved: placed in the thread at its earliest known time (Meta's first
    status, unless the sender's report was earlier), as near as we can get to the time the Cloud
    API accepted it, where an acknowledged send would be."""
    sent_at = at if message.sent_at is None else min(at, message.sent_at)
    received_at = message.received_at or sent_at
    return message.model_copy(update={
        "sent_at": sent_at,
        "sort_key": sort_key(sent_at, received_at, f"cmd:{message.command_id}"),
    })



def outbound_message(thread: Thread, event: OutboundResult, conversation: Conversation,
              sent_at: datetime) -> Message:
    """The outbound message of ``event.command_id``: as stored, or new from the event (taking in
    the stub of Meta's statuses that came before it)."""
    mid = command_message_id(thread.id, event.command_id)
    existing = thread.messages.get(mid)
    if existing is not None and not existing.stub:
        return existing
    content = event.content
    body = content.model_dump(exclude_none=True, exclude={"kind"})
    media_type = (content.media or {}).get("type") if content.media else None
    message_type = str(media_type) if content.kind == "media" and media_type else content.kind
    preview = content.text or (f"Template: {content.template_name}" if content.template_name
                               else content.emoji or f"[{message_type}]")
    received_at = ms(event.occurred_at)
    message = Message(
        id=mid, tenant_id=conversation.tenant_id, conversation_id=thread.id,
        business_phone_number_id=event.business_phone_number_id, direction="outbound",
        command_id=event.command_id, message_type=message_type, content=body, preview=preview,
        sent_at=sent_at, received_at=received_at,
        sort_key=sort_key(sent_at, received_at, f"cmd:{event.command_id}"),
        reply_to=ReplyTo(wamid=content.reply_to_wamid) if content.reply_to_wamid else None,
        actor_id=event.actor_id, campaign_id=event.campaign_id, reference=event.reference,
    )
    if existing is None:
        return message
    return absorb(message, existing).model_copy(
        update={"wamid": existing.wamid, "outcome": existing.outcome})


def absorb(message: Message, stub: Message) -> Message:
    """The message with everything its stub collected: statuses, reactions, flags, pricing
    (the edits and the deletion a stub holds: ``edits.absorb_changes``)."""
    for entry in stub.statuses:
        message = with_status(message, entry)
    reactions: dict[str, Reaction] = {r.by: r for r in message.reactions}
    clocks = dict(message.fold.reaction_at)
    for by, at in stub.fold.reaction_at.items():
        if by not in clocks or at >= clocks[by]:
            clocks[by] = at
            reactions.pop(by, None)
            reactions.update({r.by: r for r in stub.reactions if r.by == by})
    return message.model_copy(update={
        "reactions": sorted(reactions.values(), key=lambda r: r.by),
        "fold": message.fold.model_copy(update={"reaction_at": clocks}),
        "edited": message.edited or stub.edited,
        "deleted": message.deleted or stub.deleted,
        "pricing": message.pricing or stub.pricing,
        "errors": [*message.errors, *(e for e in stub.errors if e not in message.errors)],
    })


def react(thread: Thread, messages: dict[str, Message], target_wamid: str, reaction: Reaction,
           conversation: Conversation) -> dict[str, Message]:
    """Last writer (by WhatsApp's time) wins per reactor; an empty emoji removes the reaction."""
    target = by_wamid(messages, target_wamid) or new_stub(thread, target_wamid, conversation,
                                                        "inbound")
    clock = target.fold.reaction_at.get(reaction.by)
    if clock is not None and reaction.at < clock:
        return messages
    kept = [r for r in target.reactions if r.by != reaction.by]
    if reaction.emoji:
        kept.append(reaction)
    updated = target.model_copy(update={
        "reactions": sorted(kept, key=lambda r: r.by),
        "fold": target.fold.model_copy(
            update={"reaction_at": {**target.fold.reaction_at, reaction.by: reaction.at}}),
    })
    if updated == messages.get(target.id):
        return messages
    return {**messages, target.id: updated}


def notice_kind(message_type: str, content: Mapping[str, object]) -> str | None:
    """'edit' or 'delete' when the message says another one was edited or deleted (edits.py
    applies it to that message)."""
    inner = content.get("type") if message_type == "unsupported" else message_type
    if inner in EDIT_TYPES:
        return "edit"
    if inner in DELETE_TYPES:
        return "delete"
    return None


def meta_error(error: MetaError) -> ErrorInfo:
    return ErrorInfo(source="meta", code=error.code, title=error.title, message=error.message,
                     details=error.details, href=error.href)
