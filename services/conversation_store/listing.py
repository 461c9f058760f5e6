"""Which conversations the lists show (issue 15, "ghost conversations"). Pure.

A status of a message sent by another tool, a reaction, an edit or an app contact sync may be
the first thing the store hears of a customer. It makes a conversation document (the stub that
holds it needs one: conversations are written before their messages), but there is nothing to
show: such a conversation is **unlisted** (``listed`` False) until it has a visible message, and
inbox_api's list and search skip it. The store publishes no change notice for it either, so an
open inbox never shows it live. Once listed, always listed: a visible message never goes away.

A conversation is listed when it existed before this fold and was listed (documents written
before the field read as listed), or when the fold leaves a visible message in it.
"""

from __future__ import annotations

from dataclasses import replace

from services.conversation_store.documents import Conversation
from services.conversation_store.thread import Thread


def settle(before: Conversation | None, thread: Thread) -> Thread:
    """``thread`` after a fold that started from ``before``, with ``listed`` set."""
    conversation = thread.conversation
    if conversation is None:
        return thread
    listed = (before is not None and before.listed) or any(
        m.visible and not m.stub for m in thread.messages.values())
    if listed == conversation.listed:
        return thread
    return replace(thread, conversation=conversation.model_copy(update={"listed": listed}))
