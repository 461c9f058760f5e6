"""The fold's rules for ``inbox.outbound.v1``: what the sender did with a send (accepted by the
Cloud API, refused by policy, failed, or in doubt). Pure; projection.py picks the rule by event
type.
"""

from __future__ import annotations

from dataclasses import replace

from services.conversation_store.conversations import (
    closes_window,
    ensure_conversation,
    on_agent_send,
    on_proven_send,
    on_window_closed,
)
from services.conversation_store.documents import ErrorInfo, Reaction, StatusEntry, message_id, ms
from services.conversation_store.messages import (
    absorb,
    became_sent,
    meta_error,
    outbound_message,
    react,
    settled,
    with_outcome,
)
from services.conversation_store.thread import Step, Thread
from shared.events import (
    MessageAccepted,
    MessageFailed,
    MessageOutcomeUnknown,
    MessageRefused,
    OutboundResult,
)


def accepted(event: MessageAccepted, thread: Thread, step: Step) -> Thread:
    conversation = ensure_conversation(thread, event, event.business_phone_number_id)
    base = outbound_message(thread, event, conversation, ms(event.accepted_at))
    message = with_outcome(base, event, StatusEntry(status="accepted", at=ms(event.accepted_at)))
    message = message.model_copy(update={
        "wamid": event.wamid,
        "pacing": event.message_status or message.pacing,
        "visible": event.content.kind != "reaction",
    })
    messages = dict(thread.messages)
    stub_id = message_id(thread.id, event.wamid)
    stub = messages.get(stub_id)
    if stub is not None and stub.stub:  # statuses that beat outbound.accepted: apply them now
        message = absorb(message, stub)
        del messages[stub_id]
    messages[message.id] = message
    content = event.content
    if content.kind == "reaction" and content.reaction_to_wamid:
        reaction = Reaction(by="business", emoji=content.emoji or "", at=ms(event.accepted_at),
                            actor_id=event.actor_id)
        messages = react(thread, messages, content.reaction_to_wamid, reaction, conversation)
    if messages == thread.messages:
        return thread
    if step.fresh and message.visible:
        conversation = on_agent_send(conversation, event, message)
    return replace(thread, conversation=conversation, messages=messages)


def not_accepted(event: OutboundResult, thread: Thread, step: Step) -> Thread:
    conversation = ensure_conversation(thread, event, event.business_phone_number_id)
    at = ms(event.occurred_at)
    if isinstance(event, MessageRefused):
        entry = StatusEntry(status="refused", at=at, error=ErrorInfo(
            source="policy", reason=event.reason, message=event.detail, hint=event.hint))
    elif isinstance(event, MessageFailed):
        entry = StatusEntry(status="failed", at=at,
                            error=meta_error(event.error).model_copy(update={"source": "meta"}))
    else:
        assert isinstance(event, MessageOutcomeUnknown)
        entry = StatusEntry(status="unknown", at=at,
                            error=ErrorInfo(source="sender", message=event.detail))
    message = with_outcome(outbound_message(thread, event, conversation, at), event, entry)
    message = message.model_copy(update={"visible": True})  # the agent must see what happened
    before = thread.messages.get(message.id)
    if message == before:
        return thread
    if before is not None and became_sent(before, message):
        # Meta's statuses came first (held by a stub): the send was never really in doubt.
        message = settled(message, min((s.at for s in before.statuses), default=at))
        if step.fresh:
            conversation = on_proven_send(conversation, event, message)
    if step.fresh and isinstance(event, MessageFailed) and closes_window([event.error]):
        # Meta answered the call itself with 131047: the sender's time of that answer.
        conversation = on_window_closed(conversation, at)
    return replace(thread, conversation=conversation,
                   messages={**thread.messages, message.id: message})
