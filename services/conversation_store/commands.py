"""The fold's rules for the agents' commands on ``inbox.commands.v1`` that change a conversation:
mark read, assign, resolve or reopen. Pure; projection.py picks the rule by event type.

They change only the conversation document, and only for a fresh position: a command has no
message document whose write a replay would have to redo.
"""

from __future__ import annotations

from dataclasses import replace

from services.conversation_store.conversations import ensure_conversation
from services.conversation_store.documents import ms
from services.conversation_store.thread import Step, Thread
from shared.events import AssignConversation, MarkRead, SetConversationStatus

COMMANDS_KEPT = 50


def mark_read(event: MarkRead, thread: Thread, step: Step) -> Thread:
    conversation = thread.conversation
    if not step.fresh or (conversation and event.command_id in conversation.fold.commands):
        return thread
    conversation = ensure_conversation(thread, event, event.business_phone_number_id)
    at = ms(event.occurred_at)
    unread = conversation.fold.unread
    wamids = [u.wamid for u in unread]
    if event.message_wamid is not None and event.message_wamid in wamids:
        left = unread[wamids.index(event.message_wamid) + 1:]
    else:
        left = [u for u in unread if u.at > at]
    # Entries beyond the kept list are older than all kept ones: read once anything older is.
    count = len(left) if len(left) < len(unread) or not unread else conversation.unread_count
    commands = [*conversation.fold.commands, event.command_id][-COMMANDS_KEPT:]
    last_read = conversation.last_read_at
    newer = last_read is None or at >= last_read
    conversation = conversation.model_copy(update={
        "unread_count": count,
        "last_read_at": at if newer else last_read,
        "last_read_by": event.actor_id if newer else conversation.last_read_by,
        "fold": conversation.fold.model_copy(update={"unread": left, "commands": commands}),
    })
    return replace(thread, conversation=conversation)


def assign(event: AssignConversation, thread: Thread, step: Step) -> Thread:
    at = ms(event.occurred_at)
    current = thread.conversation
    if not step.fresh or (current and current.assigned_at and at < current.assigned_at):
        return thread
    conversation = ensure_conversation(thread, event, None).model_copy(update={
        "assignee_id": event.assignee_id, "assigned_at": at, "assigned_by": event.actor_id})
    return thread if conversation == current else replace(thread, conversation=conversation)


def set_status(event: SetConversationStatus, thread: Thread, step: Step) -> Thread:
    at = ms(event.occurred_at)
    current = thread.conversation
    if not step.fresh or (current and current.status_changed_at
                          and at < current.status_changed_at):
        return thread
    conversation = ensure_conversation(thread, event, None).model_copy(update={
        "status": event.status, "status_changed_at": at, "status_changed_by": event.actor_id})
    return thread if conversation == current else replace(thread, conversation=conversation)
