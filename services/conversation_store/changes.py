"""What a folded thread means for the database and for subscribers. Pure.

One batch gives each touched conversation one write: the conversation document (its version + 1)
and the message documents that differ from what was loaded (inserted, replaced, or deleted when a
stub was absorbed by its message).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from services.conversation_store.documents import Conversation, Message
from services.conversation_store.thread import Thread
from shared.events import ConversationChanged, ConversationSummary

_NOTICE_NAMESPACE = uuid5(NAMESPACE_URL, "urn:whatsapp-inbox:conversation-changed")


@dataclass(frozen=True, slots=True)
class ThreadChange:
    """The writes one batch makes for one conversation."""

    conversation: Conversation
    conversation_is_new: bool
    inserts: list[Message] = field(default_factory=list)
    replaces: list[Message] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    # Visible messages this change touched, for the notice.
    message_ids: list[str] = field(default_factory=list)


def diff(loaded: Thread, folded: Thread) -> ThreadChange | None:
    """The writes that turn ``loaded`` into ``folded``; None when nothing changed."""
    inserts: list[Message] = []
    replaces: list[Message] = []
    touched: list[str] = []
    for mid, message in folded.messages.items():
        before = loaded.messages.get(mid)
        if before == message:
            continue
        if before is None:
            inserts.append(message.model_copy(update={"version": 1}))
        else:
            replaces.append(message.model_copy(update={"version": before.version + 1}))
        if message.visible:
            touched.append(mid)
    deletes = [mid for mid in loaded.messages if mid not in folded.messages]
    conversation = folded.conversation
    if conversation is None or (
        conversation == loaded.conversation and not inserts and not replaces and not deletes
    ):
        return None
    version = (loaded.conversation.version if loaded.conversation else 0) + 1
    return ThreadChange(
        conversation=conversation.model_copy(update={"version": version}),
        conversation_is_new=loaded.conversation is None,
        inserts=inserts,
        replaces=replaces,
        deletes=deletes,
        message_ids=sorted(touched),
    )


def summary(conversation: Conversation) -> ConversationSummary:
    return ConversationSummary(
        conversation_id=conversation.id,
        business_phone_number_id=conversation.business_phone_number_id,
        # The summary's contract predates hidden numbers: "" when the number is unknown.
        customer_wa_id=conversation.customer_wa_id or "",
        contact_name=conversation.contact_name,
        last_message_preview=conversation.last_message_preview,
        last_message_at=conversation.last_message_at,
        last_inbound_at=conversation.last_inbound_at,
        window_expires_at=conversation.window_expires_at,
        unread_count=conversation.unread_count,
        status=conversation.status,
        assignee_id=conversation.assignee_id,
        merged_into=conversation.merged_into,
        version=conversation.version,
    )


def notice(
    conversation: Conversation, message_ids: list[str], now: datetime
) -> ConversationChanged:
    """The change notice; its event id is derived from (conversation, version), so a notice
    re-published after a crash is recognisably the same one."""
    return ConversationChanged(
        event_id=notice_id(conversation.id, conversation.version),
        occurred_at=now,
        tenant_id=conversation.tenant_id,
        conversation_id=conversation.id,
        summary=summary(conversation),
        message_ids=message_ids,
    )


def notice_id(conversation_id: str, version: int) -> UUID:
    return uuid5(_NOTICE_NAMESPACE, f"{conversation_id}@{version}")
