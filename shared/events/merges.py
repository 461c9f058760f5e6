"""Events on ``whatsapp.inbound.v1`` that merge two conversations of one customer.

A customer first seen apart by number and by BSUID has two conversations; the first event naming
both shows they are one person's (docs/architecture.md, "Merging two conversations of one
customer"). webhook_ingest then publishes :class:`ConversationMerged`, keyed by the absorbed
conversation; conversation_store, owner of that conversation's partition, hands its content to the
survivor as :class:`ConversationAbsorbed` records keyed by the survivor, and re-publishes, keyed by
the survivor, whatever reaches the absorbed conversation later.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from shared.events.base import Contract, Event, JsonObject


class Merge(Contract):
    """Which conversation absorbs the record key's, and the identifiers that showed they are one
    customer's (an event naming both, whose aliases pointed at two conversations)."""

    survivor_conversation_id: str
    business_phone_number_id: str
    wa_id: str | None = None
    user_id: str | None = None


class ConversationMerged(Event):
    """The record's conversation (its key, so this comes after everything already published for
    it) is absorbed by ``payload.survivor_conversation_id``. Emitted by webhook_ingest; the same
    merge published twice is one merge."""

    type: Literal["conversation.merged"] = "conversation.merged"
    conversation_id: str
    payload: Merge


class AbsorbedThread(Contract):
    """An absorbed conversation's documents in conversation_store's stored shape
    (docs/data-model.md), as JSON: the conversation, and one part of its messages."""

    absorbed_conversation_id: str
    conversation: JsonObject
    messages: list[JsonObject] = Field(default_factory=list)
    # Wamid -> when it arrived: the absorbed conversation's inbound messages still unread.
    unread: dict[str, AwareDatetime] = Field(default_factory=dict)
    part: int = 0
    parts: int = 1


class ConversationAbsorbed(Event):
    """conversation_store to itself: part of an absorbed conversation's content, for the survivor
    (the record key). Each part stands alone: the survivor inserts the messages it lacks and takes
    in the conversation's fields, so the parts in any order, or twice, give the same thread."""

    type: Literal["conversation.absorbed"] = "conversation.absorbed"
    conversation_id: str
    payload: AbsorbedThread
