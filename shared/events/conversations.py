"""Events on ``inbox.conversations.v1``: a conversation changed, after the store committed it."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field, TypeAdapter

from shared.events.base import Contract, Event


class ConversationSummary(Contract):
    """The conversation as the list shows it, at ``version``."""

    conversation_id: str
    business_phone_number_id: str
    customer_wa_id: str
    contact_name: str | None = None
    last_message_preview: str = ""
    last_message_at: AwareDatetime | None = None
    last_inbound_at: AwareDatetime | None = None
    window_expires_at: AwareDatetime | None = None
    unread_count: int = 0
    status: Literal["open", "resolved"] = "open"
    assignee_id: str | None = None
    # Set once the conversation was merged into this one (the same customer's): leave the list.
    merged_into: str | None = None
    version: int


class ConversationChanged(Event):
    """A conversation or its messages changed. Emitted by conversation_store after commit."""

    type: Literal["conversation.changed"] = "conversation.changed"
    conversation_id: str
    summary: ConversationSummary
    # Ids of the messages this change touched, so a live thread can refetch only those.
    message_ids: list[str] = Field(default_factory=list)


CONVERSATION_EVENTS: TypeAdapter[ConversationChanged] = TypeAdapter(ConversationChanged)
