"""What the store adds to a message after the fact, as the API shows it (issue 15): earlier
versions of an edited message, the deletion of one, the WhatsApp Business app as its sender, and
call lines. Pure.

A deleted message's content stays in the store's ``revoked`` field for audit; this module never
reads that field, and it empties what could still say something (text, content, media, earlier
versions), so the API answers nothing but "deleted" (docs/conversation_store.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.inbox_api.conversations.schemas import CallOut, EarlierVersion, MessageOut


def with_changes(out: MessageOut, doc: Mapping[str, Any]) -> MessageOut:
    """``out`` (the message's view) with its edits, deletion, app sender and call line."""
    updates: dict[str, Any] = {"from_app": bool(doc.get("from_app")),
                               "call": call_view(doc.get("call"))}
    if out.deleted:
        updates.update(text="", content={}, media=None, edit_history=[], edited_at=None,
                       referral=None)
    else:
        updates.update(edit_history=earlier_versions(doc.get("edit_history")),
                       edited_at=doc.get("edited_at"))
    return out.model_copy(update=updates)


def earlier_versions(stored: object) -> list[EarlierVersion]:
    if not isinstance(stored, list):
        return []
    versions = []
    for version in stored:
        if not isinstance(version, Mapping) or version.get("at") is None:
            continue
        kind = str(version.get("message_type") or "unknown")
        content = version.get("content")
        body = content.get("body") if kind == "text" and isinstance(content, Mapping) else None
        text = body if isinstance(body, str) else str(version.get("preview") or "")
        versions.append(EarlierVersion(type=kind, text=text, at=version["at"]))
    return versions


def call_view(stored: object) -> CallOut | None:
    if not isinstance(stored, Mapping) or not isinstance(stored.get("call_id"), str):
        return None
    direction = stored.get("direction")
    duration = stored.get("duration_seconds")
    return CallOut(call_id=stored["call_id"],
                   direction=direction if direction in ("inbound", "outbound") else None,
                   outcome=str(stored.get("outcome") or "ringing"),
                   started_at=stored.get("started_at"), ended_at=stored.get("ended_at"),
                   duration_seconds=duration if isinstance(duration, int) else None)
