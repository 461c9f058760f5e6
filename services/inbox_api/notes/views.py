"""Stored note documents -> the notes' JSON shapes. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from services.inbox_api.notes.schemas import MentionOut, NoteOut

Doc = Mapping[str, Any]


def note_view(doc: Doc, names: Mapping[str, str]) -> NoteOut:
    """``names``: the tenant's agents now (a mention of someone since gone shows their id)."""
    at = doc["created_at"]
    if isinstance(at, datetime) and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)  # the database hands back naive UTC
    return NoteOut(id=str(doc["_id"]), conversation_id=doc["conversation_id"],
                   author_id=doc["author_id"],
                   author_name=names.get(doc["author_id"]) or doc.get("author_name")
                   or doc["author_id"],
                   text=doc["text"],
                   mentions=[MentionOut(id=m, display_name=names.get(m, m))
                             for m in doc.get("mentions") or []],
                   created_at=at)
