"""History media follow-ups (issue 15): a placeholder of the app's history sync filled in. Pure.

The WhatsApp Business app's history sync lists a media message first without its media: type
``media_placeholder`` and no content (webhook_ingest/history.py). For media of the last 14 days
a later ``history`` webhook repeats the same wamid with the ``image`` / ``video`` / ... object.
The store keeps a message once per wamid, so that follow-up would be a duplicate; instead it
fills the placeholder in:

- **Only a placeholder is filled.** A stored history message of type ``media_placeholder``, or
  of a media type without a media id, takes the content of a later delivery of its wamid that is
  more complete (a media id beats none, any content beats a placeholder). A message with its
  content is never overwritten by another delivery of its wamid: that is a duplicate.
- **In any order, any number of times.** The most complete delivery wins whichever comes first:
  a placeholder after its media is a duplicate; the same media twice changes nothing.
- **What happened since stays**: statuses, reactions, the edits shown over it and a deletion
  (edits.with_original); the thread's place (the wamid's time) and the list's preview follow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from services.conversation_store.conversations import ensure_conversation
from services.conversation_store.documents import Message, MessageVersion, ReplyTo
from services.conversation_store.edits import original_version, shown_last, with_original
from services.conversation_store.messages import meta_error
from services.conversation_store.thread import Thread
from shared.events import InboundMessage, MessageEchoed, MessageReceived

PLACEHOLDER = "media_placeholder"
MEDIA_TYPES = frozenset({"image", "video", "audio", "document", "sticker"})


def completeness(message_type: str, content: Mapping[str, Any]) -> int:
    """0: a placeholder; 1: a media message without its media id; 2: complete."""
    if message_type == PLACEHOLDER:
        return 0
    if message_type in MEDIA_TYPES and not _media_id(content):
        return 1
    return 2


def fills(stored: Message, p: InboundMessage) -> bool:
    """Whether ``p`` (a delivery of the stored message's wamid) fills a placeholder in."""
    if stored.stub or not stored.history:
        return False
    original = original_version(stored)
    if original is None:
        return False
    return completeness(original.message_type, original.content) < completeness(
        p.message_type, p.content)


def filled(event: MessageReceived | MessageEchoed, thread: Thread, stored: Message) -> Thread:
    """The thread with ``stored`` (a placeholder) showing the content ``event`` brings."""
    p = event.payload
    original = original_version(stored)
    assert original is not None
    message = with_original(stored, MessageVersion(
        wamid=stored.wamid, at=original.at, message_type=p.message_type,
        content=dict(p.content), preview=p.preview or f"[{p.message_type}]"))
    updates: dict[str, object] = {}
    context = p.context
    if stored.reply_to is None and context is not None and (
            context.message_id or context.forwarded or context.frequently_forwarded):
        updates["reply_to"] = ReplyTo(
            wamid=context.message_id, from_number=context.from_number,
            forwarded=context.forwarded, frequently_forwarded=context.frequently_forwarded,
            referred_product=context.referred_product)
    if stored.referral is None and p.referral is not None:
        updates["referral"] = p.referral
    errors = [e for e in map(meta_error, p.errors) if e not in message.errors]
    if errors:
        updates["errors"] = [*message.errors, *errors]
    if updates:
        message = message.model_copy(update=updates)
    conversation = shown_last(ensure_conversation(thread, event, p.business_phone_number_id),
                              message)
    return replace(thread, conversation=conversation,
                   messages={**thread.messages, message.id: message})


def _media_id(content: Mapping[str, Any]) -> str | None:
    inner = content.get("media")
    media = inner if isinstance(inner, Mapping) else content
    found = media.get("id") or media.get("media_id")
    return found if isinstance(found, str) and found else None
