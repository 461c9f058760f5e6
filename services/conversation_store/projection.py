"""The fold: (a thread's current documents, one event) -> the thread's new documents. Pure.

Idempotence has two layers (docs/conversation_store.md):
- a redelivered record is recognised by its position: the conversation remembers, per source
  partition, the last offset it applied, and conversation-level effects (unread, last message,
  window) of an older position are skipped;
- a duplicate with a new position (Meta retried a webhook, a producer re-published) is recognised
  by what it is about: a wamid already stored, a status already in the history, a reaction no
  newer than the one shown.
Message documents are changed only by rules that are idempotent on their own (insert if absent,
add a status once, last-writer-wins by time), so a message write lost after its conversation was
written is redone on the replay while the conversation's effects are not counted twice.

This module is the fold and the table of which rule each event type takes (``_apply``, at the
end); the rules live by topic (``inbound.py``, ``outbound.py``, ``commands.py``) and combine the
message rules (``messages.py``) and conversation rules (``conversations.py``). A conversation
merged into another folds nothing more: each event is forwarded (``merge.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from functools import singledispatch

from services.conversation_store import (
    app_contacts,
    calls,
    commands,
    echoes,
    inbound,
    listing,
    merge,
    outbound,
)
from services.conversation_store.documents import ms
from services.conversation_store.thread import Position, Step, Thread
from shared.events import (
    AppContactSynced,
    AssignConversation,
    CallUpdated,
    ConversationAbsorbed,
    ConversationMerged,
    MarkRead,
    MessageAccepted,
    MessageEchoed,
    MessageFailed,
    MessageOutcomeUnknown,
    MessageReceived,
    MessageRefused,
    MessageStatusChanged,
    SetConversationStatus,
)
from shared.events.base import Event


def fold(thread: Thread, steps: Iterable[tuple[Event, Position]]) -> Thread:
    """Fold the events, in order, into the thread.

    A position is fresh when it is past the last one the conversation applied for its source
    partition. The conversation's ``fold.positions`` and ``updated_at`` are set once at the end
    (no rule reads them), from the fresh events that changed something."""
    loaded = thread.conversation.fold.positions if thread.conversation is not None else {}
    started = thread.conversation
    advanced: dict[str, int] = {}
    latest: datetime | None = None
    for event, position in steps:
        key = position.key
        if merge.merged_into(thread) is not None:
            # Merged: the event is the survivor's now (recorded nowhere here; a redelivery
            # forwards it again, which the survivor takes as a duplicate).
            thread = merge.forward(event, thread, position.source)
            continue
        fresh = thread.conversation is None or position.offset > advanced.get(
            key, loaded.get(key, -1))
        folded = _apply(event, thread, Step(event, position, fresh))
        if folded is thread:
            if not fresh:
                thread = replace(thread, replayed=True)
            continue
        if not fresh:
            thread = replace(folded, replayed=True)
            continue
        advanced[key] = position.offset
        at = ms(event.occurred_at)
        latest = at if latest is None or at > latest else latest
        thread = folded
    if advanced:
        record = thread.conversation
        assert record is not None  # every change goes through ensure_conversation
        assert latest is not None
        thread = replace(thread, conversation=record.model_copy(update={
            "fold": record.fold.model_copy(
                update={"positions": {**record.fold.positions, **advanced}}),
            "updated_at": max(record.updated_at, latest),
        }))
    return listing.settle(started, thread)


@singledispatch
def _apply(event: Event, thread: Thread, step: Step) -> Thread:
    """Events that change no conversation (templates, account updates, sends) are ignored."""
    return thread


# whatsapp.inbound.v1
_apply.register(MessageReceived, inbound.received)
_apply.register(MessageStatusChanged, inbound.status_changed)
_apply.register(MessageEchoed, echoes.echoed)
_apply.register(CallUpdated, calls.call_updated)
_apply.register(AppContactSynced, app_contacts.synced)
_apply.register(ConversationMerged, merge.merged)
_apply.register(ConversationAbsorbed, merge.absorbed)
# inbox.outbound.v1
_apply.register(MessageAccepted, outbound.accepted)
_apply.register(MessageRefused, outbound.not_accepted)
_apply.register(MessageFailed, outbound.not_accepted)
_apply.register(MessageOutcomeUnknown, outbound.not_accepted)
# inbox.commands.v1 (sends are the sender's: they fall through to the default above)
_apply.register(MarkRead, commands.mark_read)
_apply.register(AssignConversation, commands.assign)
_apply.register(SetConversationStatus, commands.set_status)
