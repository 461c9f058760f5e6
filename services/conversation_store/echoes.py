"""Coexistence: what the business sent from the WhatsApp Business app on the same number, and the
app's chat-history sync (issue 15). Pure.

- **An echo** (MessageEchoed) is an outbound message of the thread, ``from_app`` (the inbox
  labels it), keyed by its wamid like an inbound message: a duplicate changes nothing, and a
  status that came first (its stub has the same ``_id``) is taken over; later statuses attach to
  it by wamid as to any message. It is a business message: it moves the list's last message, and
  never counts as unread, never reopens, and never opens or extends the customer's window
  (``last_inbound_at`` is the customer's alone, shared/window.py). The app's edits, deletions
  and reactions come as echoes too: they change their target (edits.py, messages.react).
- **History** (``history=True``, on MessageReceived and MessageEchoed alike) fills the thread in
  WhatsApp's time order (the sort key), without duplicates (the wamid), without unread counts
  and without reopening. A customer's history message is still customer activity at its own
  time: ``last_inbound_at`` is a maximum, so the window reflects only what the timestamps allow
  (a month-old message leaves it closed). A later delivery of a placeholder's wamid with its
  media fills the placeholder in (placeholders.py).
"""

from __future__ import annotations

from dataclasses import replace

from services.conversation_store.conversations import (
    ensure_conversation,
    on_customer_activity,
    on_message_shown,
)
from services.conversation_store.documents import (
    Conversation,
    Message,
    Reaction,
    ReplyTo,
    message_id,
    ms,
    sort_key,
)
from services.conversation_store.edits import absorb_changes, change_of, message_changed
from services.conversation_store.identity import learn
from services.conversation_store.messages import absorb, react
from services.conversation_store.placeholders import filled, fills
from services.conversation_store.thread import Step, Thread
from shared.events import MessageEchoed, MessageReceived


def echoed(event: MessageEchoed, thread: Thread, step: Step) -> Thread:
    p = event.payload
    change = change_of(p)
    if change is not None and (change.target or change.kind == "revoke"):
        return message_changed(event, thread, step, change)  # an edit naming none is shown
    if p.message_type == "reaction":
        return _app_reaction(event, thread)
    mid = message_id(thread.id, p.wamid)
    existing = thread.messages.get(mid)
    if existing is not None and not existing.stub:
        if fills(existing, p):  # a history placeholder's media came (placeholders.py)
            return filled(event, thread, existing)
        return thread  # a duplicate (or the same message again from a history sync)
    conversation = ensure_conversation(thread, event, p.business_phone_number_id)
    sent_at = ms(p.sent_at)
    received_at = ms(event.occurred_at)
    context = p.context
    message = Message(
        id=mid, tenant_id=conversation.tenant_id, conversation_id=thread.id,
        business_phone_number_id=p.business_phone_number_id, direction="outbound",
        wamid=p.wamid, message_type=p.message_type, content=p.content,
        preview=p.preview or f"[{p.message_type}]", sent_at=sent_at, received_at=received_at,
        sort_key=sort_key(p.sent_at, received_at, p.wamid),
        # WhatsApp had it: the app sent it. Meta's statuses, if any, replace this.
        status="sent", status_at=sent_at,
        reply_to=None if context is None or not context.message_id else ReplyTo(
            wamid=context.message_id, from_number=context.from_number,
            forwarded=context.forwarded, frequently_forwarded=context.frequently_forwarded),
        from_app=True, history=p.history,
    )
    if existing is not None:  # statuses, reactions, edits that came before the echo
        message = absorb_changes(absorb(message, existing), existing)
    # The echo names the customer (its ``to``): who they are, as a status would say.
    conversation = learn(conversation, sent_at, wa_id=p.from_wa_id, user_id=p.from_user_id)
    if step.fresh:
        conversation = on_message_shown(conversation, message)
    return replace(thread, conversation=conversation, messages={**thread.messages, mid: message})


def _app_reaction(event: MessageEchoed, thread: Thread) -> Thread:
    """A reaction the business made in the app: the business's reaction on its target."""
    p = event.payload
    target = p.content.get("message_id")
    if not isinstance(target, str) or not target:
        return thread
    conversation = ensure_conversation(thread, event, p.business_phone_number_id)
    reaction = Reaction(by="business", emoji=str(p.content.get("emoji") or ""),
                        at=ms(p.sent_at), wamid=p.wamid)
    messages = react(thread, dict(thread.messages), target, reaction, conversation)
    if messages == thread.messages and conversation == thread.conversation:
        return thread
    return replace(thread, conversation=conversation, messages=messages)


def on_history_message(conversation: Conversation, event: MessageReceived,
                       message: Message) -> Conversation:
    """A customer message from the app's history sync: customer activity at its own time (the
    window only as far as its timestamp allows) and the list's last message if it is the
    newest; no unread, no reopen."""
    return on_message_shown(on_customer_activity(conversation, event), message)
