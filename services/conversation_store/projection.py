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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import singledispatch

from services.conversation_store.conversations import (
    add_number,
    ensure_conversation,
    on_agent_send,
    on_customer_activity,
    on_inbound_message,
)
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
from shared.events import (
    AssignConversation,
    MarkRead,
    MessageAccepted,
    MessageFailed,
    MessageOutcomeUnknown,
    MessageReceived,
    MessageRefused,
    MessageStatusChanged,
    MetaError,
    OutboundContent,
    OutboundResult,
    SetConversationStatus,
    StatusUpdate,
)
from shared.events.base import Event

EDIT_TYPES = frozenset({"edit", "message_edit", "edited"})
DELETE_TYPES = frozenset({"revoke", "delete", "deleted", "message_revoke", "message_delete"})
COMMANDS_KEPT = 50


@dataclass(frozen=True, slots=True)
class Position:
    """Where an event came from: source ("in", "out", "cmd"), partition, offset."""

    source: str
    partition: int
    offset: int

    @property
    def key(self) -> str:
        return f"{self.source}:{self.partition}"


@dataclass(frozen=True, slots=True)
class Thread:
    """A conversation's documents as far as one batch needs them (messages by ``_id``)."""

    id: str
    conversation: Conversation | None = None
    messages: Mapping[str, Message] = field(default_factory=dict)
    # An event was skipped as already applied: its change notice may never have gone out.
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Step:
    event: Event
    position: Position
    # False when the conversation already applied this position: redo message effects only.
    fresh: bool


def fold(thread: Thread, steps: Iterable[tuple[Event, Position]]) -> Thread:
    """Fold the events, in order, into the thread.

    A position is fresh when it is past the last one the conversation applied for its source
    partition. The conversation's ``fold.positions`` and ``updated_at`` are set once at the end
    (no rule reads them), from the fresh events that changed something."""
    loaded = thread.conversation.fold.positions if thread.conversation is not None else {}
    advanced: dict[str, int] = {}
    latest: datetime | None = None
    for event, position in steps:
        key = position.key
        fresh = thread.conversation is None or position.offset > advanced.get(
            key, loaded.get(key, -1))
        folded = _fold(event, thread, Step(event, position, fresh))
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
    return thread


@singledispatch
def _fold(event: Event, thread: Thread, step: Step) -> Thread:
    """Events that change no conversation (templates, account updates, sends) are ignored."""
    return thread


# --- inbound ---------------------------------------------------------------------------------


@_fold.register
def _received(event: MessageReceived, thread: Thread, step: Step) -> Thread:
    p = event.payload
    if p.message_type == "reaction":
        return _customer_reaction(event, thread, step)
    mid = message_id(thread.id, p.wamid)
    existing = thread.messages.get(mid)
    if existing is not None and not existing.stub:
        return thread  # a duplicate: the message, and so its conversation effects, are stored
    conversation = ensure_conversation(thread, event, p.business_phone_number_id)
    received_at = ms(event.occurred_at)
    kind = _notice_kind(p.message_type, p.content)
    context = p.context
    message = Message(
        id=mid,
        tenant_id=conversation.tenant_id,
        conversation_id=thread.id,
        business_phone_number_id=p.business_phone_number_id,
        direction="inbound",
        wamid=p.wamid,
        message_type=p.message_type,
        content=p.content,
        preview=p.preview or _notice_preview(kind) or f"[{p.message_type}]",
        sent_at=ms(p.sent_at),
        received_at=received_at,
        sort_key=sort_key(p.sent_at, received_at, p.wamid),
        status="received",
        status_at=received_at,
        reply_to=None if context is None else ReplyTo(
            wamid=context.message_id, from_number=context.from_number,
            forwarded=context.forwarded, frequently_forwarded=context.frequently_forwarded,
            referred_product=context.referred_product,
        ),
        edited=kind == "edit",
        deleted=kind == "delete",
        referral=p.referral,
        errors=[_meta_error(e) for e in p.errors],
    )
    if existing is not None:  # a stub: keep what arrived before the message
        message = _absorb(message, existing)
    messages = {**thread.messages, mid: message}
    if kind is not None and context is not None and context.message_id:
        messages = _flag(thread, messages, context.message_id, kind, conversation)
    if step.fresh:
        conversation = on_inbound_message(conversation, event, message)
    return replace(thread, conversation=conversation, messages=messages)


def _customer_reaction(event: MessageReceived, thread: Thread, step: Step) -> Thread:
    p = event.payload
    target = p.content.get("message_id")
    emoji = p.content.get("emoji") or ""
    conversation = ensure_conversation(thread, event, p.business_phone_number_id)
    messages = dict(thread.messages)
    if isinstance(target, str) and target:
        reaction = Reaction(by="customer", emoji=str(emoji), at=ms(p.sent_at), wamid=p.wamid)
        messages = _react(thread, messages, target, reaction, conversation)
    if step.fresh:
        conversation = on_customer_activity(conversation, event)
    if messages == thread.messages and conversation == thread.conversation:
        return thread
    return replace(thread, conversation=conversation, messages=messages)


@_fold.register
def _status(event: MessageStatusChanged, thread: Thread, step: Step) -> Thread:
    p = event.payload
    conversation = ensure_conversation(thread, event, p.business_phone_number_id)
    target = (_by_wamid(thread.messages, p.wamid) or _by_command(thread, p, conversation)
              or _stub(thread, p.wamid, conversation, "outbound"))
    at = ms(p.at)
    entry = StatusEntry(status=p.status, at=at,
                        error=_meta_error(p.errors[0]) if p.errors else None)
    updated = _with_status(target, entry)
    if p.pricing is not None:
        updated = updated.model_copy(update={"pricing": p.pricing})
    if p.errors:
        errors = [*updated.errors, *(e for e in map(_meta_error, p.errors)
                                     if e not in updated.errors)]
        updated = updated.model_copy(update={"errors": errors})
    if updated.command_id is not None:
        updated = _proven(updated, p.wamid, p.status)
    if updated == thread.messages.get(target.id):
        return thread
    if thread.conversation is None and conversation.customer_wa_id != p.recipient_wa_id:
        conversation = add_number(conversation, p.recipient_wa_id)
    if _became_sent(thread.messages.get(target.id), updated):
        updated = _settled(updated, at)
        if step.fresh:
            conversation = _on_proven_send(conversation, event, updated)
    return replace(thread, conversation=conversation,
                   messages={**thread.messages, target.id: updated})


# --- outbound results --------------------------------------------------------------------------


@_fold.register
def _accepted(event: MessageAccepted, thread: Thread, step: Step) -> Thread:
    conversation = ensure_conversation(thread, event, event.business_phone_number_id)
    base = _outbound(thread, event, conversation, ms(event.accepted_at))
    message = _with_outcome(base, event, StatusEntry(status="accepted", at=ms(event.accepted_at)))
    message = message.model_copy(update={
        "wamid": event.wamid,
        "pacing": event.message_status or message.pacing,
        "visible": event.content.kind != "reaction",
    })
    messages = dict(thread.messages)
    stub_id = message_id(thread.id, event.wamid)
    stub = messages.get(stub_id)
    if stub is not None and stub.stub:  # statuses that beat outbound.accepted: apply them now
        message = _absorb(message, stub)
        del messages[stub_id]
    messages[message.id] = message
    content = event.content
    if content.kind == "reaction" and content.reaction_to_wamid:
        reaction = Reaction(by="business", emoji=content.emoji or "", at=ms(event.accepted_at),
                            actor_id=event.actor_id)
        messages = _react(thread, messages, content.reaction_to_wamid, reaction, conversation)
    if messages == thread.messages:
        return thread
    if step.fresh and message.visible:
        conversation = on_agent_send(conversation, event, message)
    return replace(thread, conversation=conversation, messages=messages)


@_fold.register(MessageRefused)
@_fold.register(MessageFailed)
@_fold.register(MessageOutcomeUnknown)
def _not_accepted(event: OutboundResult, thread: Thread, step: Step) -> Thread:
    conversation = ensure_conversation(thread, event, event.business_phone_number_id)
    at = ms(event.occurred_at)
    if isinstance(event, MessageRefused):
        entry = StatusEntry(status="refused", at=at, error=ErrorInfo(
            source="policy", reason=event.reason, message=event.detail, hint=event.hint))
    elif isinstance(event, MessageFailed):
        entry = StatusEntry(status="failed", at=at,
                            error=_meta_error(event.error).model_copy(update={"source": "meta"}))
    else:
        assert isinstance(event, MessageOutcomeUnknown)
        entry = StatusEntry(status="unknown", at=at,
                            error=ErrorInfo(source="sender", message=event.detail))
    message = _with_outcome(_outbound(thread, event, conversation, at), event, entry)
    message = message.model_copy(update={"visible": True})  # the agent must see what happened
    before = thread.messages.get(message.id)
    if message == before:
        return thread
    if before is not None and _became_sent(before, message):
        # Meta's statuses came first (held by a stub): the send was never really in doubt.
        message = _settled(message, min((s.at for s in before.statuses), default=at))
        if step.fresh:
            conversation = _on_proven_send(conversation, event, message)
    return replace(thread, conversation=conversation,
                   messages={**thread.messages, message.id: message})


# --- commands that change the conversation ------------------------------------------------------


@_fold.register
def _mark_read(event: MarkRead, thread: Thread, step: Step) -> Thread:
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


@_fold.register
def _assign(event: AssignConversation, thread: Thread, step: Step) -> Thread:
    at = ms(event.occurred_at)
    current = thread.conversation
    if not step.fresh or (current and current.assigned_at and at < current.assigned_at):
        return thread
    conversation = ensure_conversation(thread, event, None).model_copy(update={
        "assignee_id": event.assignee_id, "assigned_at": at, "assigned_by": event.actor_id})
    return thread if conversation == current else replace(thread, conversation=conversation)


@_fold.register
def _set_status(event: SetConversationStatus, thread: Thread, step: Step) -> Thread:
    at = ms(event.occurred_at)
    current = thread.conversation
    if not step.fresh or (current and current.status_changed_at
                          and at < current.status_changed_at):
        return thread
    conversation = ensure_conversation(thread, event, None).model_copy(update={
        "status": event.status, "status_changed_at": at, "status_changed_by": event.actor_id})
    return thread if conversation == current else replace(thread, conversation=conversation)


# --- message rules -----------------------------------------------------------------------------


def _by_wamid(messages: Mapping[str, Message], wamid: str) -> Message | None:
    """The message with this wamid: its real document before a stub, if both are loaded."""
    found = [m for m in messages.values() if m.wamid == wamid]
    found.sort(key=lambda m: m.stub)
    return found[0] if found else None


def _by_command(thread: Thread, status: StatusUpdate,
                conversation: Conversation) -> Message | None:
    """The message of the command that sent this status's message (named in Meta's echo of
    ``biz_opaque_callback_data``) when no message has its wamid yet: a send in doubt, a failed
    one, or a stub keyed by the command when the status beat the sender's result."""
    if status.command_id is None:
        return None
    mid = command_message_id(thread.id, status.command_id)
    message = thread.messages.get(mid)
    if message is None:
        return _stub(thread, status.wamid, conversation, "outbound", status.command_id)
    if message.direction != "outbound" or message.wamid not in (None, status.wamid):
        return None  # never one message for two wamids: the status gets its own stub
    return message


def _stub(thread: Thread, wamid: str, conversation: Conversation, direction: Direction,
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


def _with_status(message: Message, entry: StatusEntry) -> Message:
    history = merge(message.statuses, entry)
    if history == message.statuses:
        return message
    status, status_at, error = shown(history)
    if message.direction == "inbound" and not message.stub:
        status, status_at, error = message.status, message.status_at, message.error
    return message.model_copy(update={
        "statuses": history, "status": status, "status_at": status_at, "error": error})


def _with_outcome(message: Message, event: OutboundResult, entry: StatusEntry) -> Message:
    message = _with_status(message, entry)
    if better_outcome(message.outcome, entry.status):
        message = message.model_copy(update={"outcome": entry.status})
    return message


def _proven(message: Message, wamid: str, status: str) -> Message:
    """A command's message Meta reported on: its wamid, and Meta had the send (or failed it)."""
    outcome = proven_outcome(status)
    updates: dict[str, object] = {}
    if message.wamid is None:
        updates["wamid"] = wamid
    if message.outcome != outcome and better_outcome(message.outcome, outcome):
        updates["outcome"] = outcome
    return message.model_copy(update=updates) if updates else message


def _became_sent(before: Message | None, after: Message) -> bool:
    """Whether the thread shows ``after`` as accepted for the first time, without the sender's
    ``outbound.accepted`` (which applies its own effects): a send in doubt Meta reported on."""
    return (after.outcome == "accepted" and not after.stub
            and (before is None or before.stub or before.outcome != "accepted"))


def _settled(message: Message, at: datetime) -> Message:
    """An in-doubt send Meta proved: placed in the thread at its earliest known time (Meta's first
    status, unless the sender's report was earlier), as near as we can get to the time the Cloud
    API accepted it, where an acknowledged send would be."""
    sent_at = at if message.sent_at is None else min(at, message.sent_at)
    received_at = message.received_at or sent_at
    return message.model_copy(update={
        "sent_at": sent_at,
        "sort_key": sort_key(sent_at, received_at, f"cmd:{message.command_id}"),
    })


def _on_proven_send(conversation: Conversation, event: Event, message: Message) -> Conversation:
    """The conversation effects of an accepted send (last message, last agent reply), for a send
    in doubt Meta proved: as if the ``outbound.accepted`` the sender could not report had come.
    A reaction is not a thread message (it stays shown as a sent message, not as an emoji)."""
    if message.message_type == "reaction":
        return conversation
    assert message.command_id is not None
    assert message.wamid is not None
    assert message.sent_at is not None
    kind = message.message_type if message.message_type in ("text", "template") else "media"
    accepted = MessageAccepted(
        event_id=event.event_id, occurred_at=event.occurred_at, tenant_id=message.tenant_id,
        conversation_id=message.conversation_id, command_id=message.command_id,
        business_phone_number_id=message.business_phone_number_id,
        customer_wa_id=conversation.customer_wa_id, actor_id=message.actor_id,
        campaign_id=message.campaign_id, reference=message.reference,
        content=OutboundContent.model_validate({**message.content, "kind": kind}),
        wamid=message.wamid, accepted_at=message.sent_at,
    )
    return on_agent_send(conversation, accepted, message)


def _outbound(thread: Thread, event: OutboundResult, conversation: Conversation,
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
    return _absorb(message, existing).model_copy(
        update={"wamid": existing.wamid, "outcome": existing.outcome})


def _absorb(message: Message, stub: Message) -> Message:
    """The message with everything its stub collected: statuses, reactions, flags, pricing."""
    for entry in stub.statuses:
        message = _with_status(message, entry)
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


def _react(thread: Thread, messages: dict[str, Message], target_wamid: str, reaction: Reaction,
           conversation: Conversation) -> dict[str, Message]:
    """Last writer (by WhatsApp's time) wins per reactor; an empty emoji removes the reaction."""
    target = _by_wamid(messages, target_wamid) or _stub(thread, target_wamid, conversation,
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


def _flag(thread: Thread, messages: dict[str, Message], target_wamid: str, kind: str,
          conversation: Conversation) -> dict[str, Message]:
    target = _by_wamid(messages, target_wamid) or _stub(thread, target_wamid, conversation,
                                                        "inbound")
    flag = "edited" if kind == "edit" else "deleted"
    if getattr(target, flag):
        return messages
    return {**messages, target.id: target.model_copy(update={flag: True})}


def _notice_kind(message_type: str, content: Mapping[str, object]) -> str | None:
    """'edit' or 'delete' when the message says another one was edited or deleted."""
    inner = content.get("type") if message_type == "unsupported" else message_type
    if inner in EDIT_TYPES:
        return "edit"
    if inner in DELETE_TYPES:
        return "delete"
    return None


def _notice_preview(kind: str | None) -> str:
    return {"edit": "Edited a message", "delete": "Deleted a message"}.get(kind or "", "")


def _meta_error(error: MetaError) -> ErrorInfo:
    return ErrorInfo(source="meta", code=error.code, title=error.title, message=error.message,
                     details=error.details, href=error.href)
