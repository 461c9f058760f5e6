"""Conversation-level rules of the fold: list fields, window, unread, reopen. Pure.

Every rule compares times instead of trusting arrival order, because a conversation's events come
from three topics (inbound, outbound, commands) whose relative order in one poll is arbitrary:
a resolve and a customer message, an assignment and another, settle by their own times.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from services.conversation_store.documents import Conversation, Message, UnreadEntry, ms
from services.conversation_store.identity import (
    keyed_by_user_id,
    learn,
    refresh_search_keys,
    remember,
    search_keys,
)
from services.conversation_store.thread import Thread
from shared.cloud_errors import RE_ENGAGEMENT
from shared.events import MessageAccepted, MessageReceived, MetaError, OutboundContent
from shared.events.base import Event
from shared.phone import split_conversation_id
from shared.window import window_expires_at

UNREAD_KEPT = 100


def ensure_conversation(thread: Thread, event: Event, number_id: str | None) -> Conversation:
    """The thread's conversation, or a new one named after the conversation id: by the
    customer's number (``{pnid}:{number}``), or by their BSUID when Meta hid the number
    (``{pnid}:{bsuid}``: ``customer_wa_id`` stays None until an event brings the number)."""
    if thread.conversation is not None:
        return thread.conversation
    business_number, customer = split_conversation_id(thread.id)
    at = ms(event.occurred_at)
    by_user = keyed_by_user_id(thread.id)
    numbers = [] if by_user else [customer]
    user_ids = [customer] if by_user else []
    return Conversation(
        id=thread.id,
        tenant_id=event.tenant_id,
        business_phone_number_id=number_id or business_number,
        customer_wa_id=None if by_user else customer,
        customer_wa_ids=numbers,
        customer_user_id=customer if by_user else None,
        customer_user_ids=user_ids,
        search_keys=search_keys(None, numbers, None, user_ids),
        created_at=at,
        updated_at=at,
    )


def add_number(conversation: Conversation, raw: str | None) -> Conversation:
    """Remember another spelling of the customer's number (for search by number)."""
    return remember(conversation, wa_id=raw)


def on_customer_activity(conversation: Conversation, event: MessageReceived) -> Conversation:
    """Any customer message (reactions too): window, profile name, who the customer is."""
    p = event.payload
    sent_at = ms(p.sent_at)
    conversation = learn_sender(conversation, event)
    updates: dict[str, object] = {}
    last_inbound = conversation.last_inbound_at
    if last_inbound is None or sent_at > last_inbound:
        updates["last_inbound_at"] = sent_at
        updates["window_expires_at"] = window_expires_at(sent_at)
    name = p.customer.name if p.customer else None
    named_at = conversation.contact_name_at
    if name and (named_at is None or sent_at >= named_at):
        updates["contact_name"] = name
        updates["contact_name_at"] = sent_at
    if p.business_display_number and not conversation.business_display_number:
        updates["business_display_number"] = p.business_display_number
    if not updates:
        return conversation
    return refresh_search_keys(conversation.model_copy(update=updates))


def learn_sender(conversation: Conversation, event: MessageReceived) -> Conversation:
    """The number, BSUID, parent BSUID and username a customer's message names them by."""
    p = event.payload
    c = p.customer
    conversation = learn(
        conversation, ms(p.sent_at), wa_id=p.from_wa_id or (c.wa_id if c else None),
        user_id=p.from_user_id or (c.user_id if c else None),
        parent_user_id=c.parent_user_id if c else None, username=c.username if c else None)
    if c is not None and c.wa_id and c.wa_id != p.from_wa_id:
        conversation = remember(conversation, wa_id=c.wa_id)
    if c is not None and c.user_id and c.user_id != p.from_user_id:
        conversation = remember(conversation, user_id=c.user_id)
    return conversation


def on_inbound_message(
    conversation: Conversation, event: MessageReceived, message: Message
) -> Conversation:
    """A new customer message: activity, last message, one more unread, reopen if resolved."""
    conversation = on_customer_activity(conversation, event)
    conversation = _last_message(conversation, message)
    received_at = ms(event.occurred_at)
    unread = [*conversation.fold.unread, UnreadEntry(wamid=event.payload.wamid, at=received_at)]
    updates: dict[str, object] = {
        "unread_count": conversation.unread_count + 1,
        "fold": conversation.fold.model_copy(update={"unread": unread[-UNREAD_KEPT:]}),
    }
    changed_at = conversation.status_changed_at
    if conversation.status == "resolved" and (changed_at is None or received_at > changed_at):
        updates.update(status="open", status_changed_at=received_at, status_changed_by=None)
    return conversation.model_copy(update=updates)


def on_agent_send(
    conversation: Conversation, event: MessageAccepted, message: Message
) -> Conversation:
    """A message the Cloud API accepted: last message, and who replied last (agents only)."""
    conversation = _last_message(conversation, message)
    at = ms(event.accepted_at)
    last = conversation.last_agent_reply_at
    if event.actor_id and event.campaign_id is None and (last is None or at >= last):
        conversation = conversation.model_copy(
            update={"last_agent_reply_at": at, "last_agent_id": event.actor_id})
    return conversation


def on_proven_send(conversation: Conversation, event: Event, message: Message) -> Conversation:
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
        customer_wa_id=conversation.customer_wa_id or "", actor_id=message.actor_id,
        campaign_id=message.campaign_id, reference=message.reference,
        content=OutboundContent.model_validate({**message.content, "kind": kind}),
        wamid=message.wamid, accepted_at=message.sent_at,
    )
    return on_agent_send(conversation, accepted, message)


def closes_window(errors: Iterable[MetaError]) -> bool:
    """Meta's answer says the customer-service window is closed (131047, re-engagement)."""
    return any(error.code == RE_ENGAGEMENT for error in errors)


def on_window_closed(conversation: Conversation, at: datetime) -> Conversation:
    """Meta said the window is closed at ``at``, whatever our clock says. The latest report is
    kept and compared with ``last_inbound_at`` when deciding (shared/window.py), not cleared by
    a customer message: a maximum is the same in any order."""
    current = conversation.window_closed_at
    if current is not None and current >= at:
        return conversation
    return conversation.model_copy(update={"window_closed_at": at})


def on_message_shown(conversation: Conversation, message: Message) -> Conversation:
    """A message now in the thread (one a merge brought, merge.py): the list's last message
    when it is the newest visible one."""
    return _last_message(conversation, message)


def _last_message(conversation: Conversation, message: Message) -> Conversation:
    current = conversation.last_message_sort_key
    if not message.visible or message.sort_key is None or (
        current is not None and message.sort_key <= current
    ):
        return conversation
    return conversation.model_copy(update={
        "last_message_id": message.id,
        "last_message_preview": message.preview[:200],
        "last_message_at": message.sent_at,
        "last_message_direction": message.direction,
        "last_message_sort_key": message.sort_key,
        "last_activity_at": message.sent_at,
    })
