"""The fold's rules for ``whatsapp.inbound.v1``: a customer's message or reaction, and Meta's status
of a message. Pure; projection.py picks the rule by event type.
"""

from __future__ import annotations

from dataclasses import replace

from services.conversation_store.conversations import (
    closes_window,
    ensure_conversation,
    on_customer_activity,
    on_inbound_message,
    on_proven_send,
    on_window_closed,
)
from services.conversation_store.documents import (
    Message,
    Reaction,
    ReplyTo,
    StatusEntry,
    message_id,
    ms,
    sort_key,
)
from services.conversation_store.echoes import on_history_message
from services.conversation_store.edits import absorb_changes, change_of, message_changed
from services.conversation_store.identity import IDENTITY_CHANGE, learn, remember
from services.conversation_store.messages import (
    absorb,
    became_sent,
    by_command,
    by_wamid,
    meta_error,
    new_stub,
    proven,
    react,
    settled,
    with_status,
)
from services.conversation_store.placeholders import filled, fills
from services.conversation_store.thread import Step, Thread
from shared.events import MessageReceived, MessageStatusChanged


def received(event: MessageReceived, thread: Thread, step: Step) -> Thread:
    p = event.payload
    if p.message_type == "reaction":
        return _customer_reaction(event, thread, step)
    if p.identity_change is not None:
        return _identity_changed(event, thread, step)
    change = change_of(p)
    if change is not None and (change.target or change.kind == "revoke"):
        # An edit or deletion changes its target: no message of its own. An edit that names
        # no target (an older ``unsupported`` payload) is shown as Meta sent it, with its reason.
        return message_changed(event, thread, step, change)
    mid = message_id(thread.id, p.wamid)
    existing = thread.messages.get(mid)
    if existing is not None and not existing.stub:
        if fills(existing, p):  # the app's history sync: a placeholder's media came
            return filled(event, thread, existing)
        return thread  # a duplicate: the message, and so its conversation effects, are stored
    conversation = ensure_conversation(thread, event, p.business_phone_number_id)
    received_at = ms(event.occurred_at)
    context = p.context
    message = Message(
        id=mid,
        tenant_id=conversation.tenant_id,
        conversation_id=thread.id,
        business_phone_number_id=p.business_phone_number_id,
        direction="inbound",
        wamid=p.wamid,
        from_user_id=p.from_user_id or (p.customer.user_id if p.customer else None),
        message_type=p.message_type,
        content=p.content,
        preview=p.preview or f"[{p.message_type}]",
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
        referral=p.referral,
        history=p.history,
        errors=[meta_error(e) for e in p.errors],
    )
    if existing is not None:  # a stub: keep what arrived before the message
        message = absorb_changes(absorb(message, existing), existing)
    messages = {**thread.messages, mid: message}
    if step.fresh and p.history:  # the app's history sync: no unread, no reopen
        conversation = on_history_message(conversation, event, message)
    elif step.fresh:
        conversation = on_inbound_message(conversation, event, message)
    return replace(thread, conversation=conversation, messages=messages)


def _identity_changed(event: MessageReceived, thread: Thread, step: Step) -> Thread:
    """``user_changed_number`` / ``user_changed_user_id``: a system line in the thread, and the
    new identifiers become the customer's current ones (identity.py: the latest change wins,
    in any order). Not a customer message: no unread, no list preview, no window."""
    p = event.payload
    change = p.identity_change
    assert change is not None
    mid = message_id(thread.id, p.wamid)
    existing = thread.messages.get(mid)
    if existing is not None and not existing.stub:
        return thread  # a duplicate: the line, and so its conversation effects, are stored
    conversation = ensure_conversation(thread, event, p.business_phone_number_id)
    received_at = ms(event.occurred_at)
    message = Message(
        id=mid,
        tenant_id=conversation.tenant_id,
        conversation_id=thread.id,
        business_phone_number_id=p.business_phone_number_id,
        direction="system",
        wamid=p.wamid,
        from_user_id=p.from_user_id,
        message_type="system",
        content={**p.content, "identity_change": change.model_dump(mode="json")},
        preview=identity_line(change.kind, change.new_wa_id),
        sent_at=ms(p.sent_at),
        received_at=received_at,
        sort_key=sort_key(p.sent_at, received_at, p.wamid),
        status="received",
        status_at=received_at,
    )
    if existing is not None:
        message = absorb(message, existing)
    if step.fresh:
        # The message is addressed by the old identifiers: seen (for search), not current.
        conversation = remember(conversation, wa_id=p.from_wa_id, user_id=p.from_user_id)
        conversation = learn(conversation, ms(p.sent_at), wa_id=change.new_wa_id,
                             user_id=change.new_user_id, rank=IDENTITY_CHANGE)
    return replace(thread, conversation=conversation, messages={**thread.messages, mid: message})


def identity_line(kind: str, new_wa_id: str | None) -> str:
    """The system line's text as stored (inbox_api shows the number formatted)."""
    if kind == "number":
        return (f"changed their phone number to +{new_wa_id.lstrip('+')}" if new_wa_id
                else "changed their phone number")
    return "changed their WhatsApp account"


def _customer_reaction(event: MessageReceived, thread: Thread, step: Step) -> Thread:
    p = event.payload
    target = p.content.get("message_id")
    emoji = p.content.get("emoji") or ""
    conversation = ensure_conversation(thread, event, p.business_phone_number_id)
    messages = dict(thread.messages)
    if isinstance(target, str) and target:
        reaction = Reaction(by="customer", emoji=str(emoji), at=ms(p.sent_at), wamid=p.wamid)
        messages = react(thread, messages, target, reaction, conversation)
    if step.fresh:
        conversation = on_customer_activity(conversation, event)
    if messages == thread.messages and conversation == thread.conversation:
        return thread
    return replace(thread, conversation=conversation, messages=messages)


def status_changed(event: MessageStatusChanged, thread: Thread, step: Step) -> Thread:
    p = event.payload
    conversation = ensure_conversation(thread, event, p.business_phone_number_id)
    target = (by_wamid(thread.messages, p.wamid) or by_command(thread, p, conversation)
              or new_stub(thread, p.wamid, conversation, "outbound"))
    at = ms(p.at)
    entry = StatusEntry(status=p.status, at=at,
                        error=meta_error(p.errors[0]) if p.errors else None)
    updated = with_status(target, entry)
    if p.pricing is not None:
        updated = updated.model_copy(update={"pricing": p.pricing})
    if p.errors:
        errors = [*updated.errors, *(e for e in map(meta_error, p.errors)
                                     if e not in updated.errors)]
        updated = updated.model_copy(update={"errors": errors})
    if updated.command_id is not None:
        updated = proven(updated, p.wamid, p.status)
    if updated == thread.messages.get(target.id):
        return thread
    conversation = learn(conversation, at, wa_id=p.recipient_wa_id,
                         user_id=p.recipient_user_id, username=p.recipient_username)
    if became_sent(thread.messages.get(target.id), updated):
        updated = settled(updated, at)
        if step.fresh:
            conversation = on_proven_send(conversation, event, updated)
    if step.fresh and p.status == "failed" and closes_window(p.errors):
        # Meta's status time: the same clock as the customer's messages it is compared with.
        conversation = on_window_closed(conversation, at)
    return replace(thread, conversation=conversation,
                   messages={**thread.messages, target.id: updated})
