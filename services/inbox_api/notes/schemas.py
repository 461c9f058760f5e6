"""The notes' JSON shapes (docs/inbox-api.md)."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from services.inbox_api.schemas import ApiModel


class NoteIn(ApiModel):
    """A private note: agents only, never sent to the customer. ``@name`` or ``@id`` mentions
    an agent (it marks the conversation for them)."""

    text: str = Field(min_length=1, max_length=4096, pattern=r"\S")  # not only spaces


class MentionOut(ApiModel):
    id: str
    display_name: str


class NoteOut(ApiModel):
    id: str
    conversation_id: str
    author_id: str
    author_name: str
    text: str
    mentions: list[MentionOut]
    created_at: AwareDatetime


class NoteList(ApiModel):
    """A conversation's notes, oldest first (the thread shows them among its messages)."""

    items: list[NoteOut]
