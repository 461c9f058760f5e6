"""Stored conversations and messages (docs/data-model.md) -> the API's JSON shapes. Pure:
``now`` is passed in."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from services.inbox_api.conversations.people import customer_fields, identity_change_text
from services.inbox_api.conversations.schemas import (
    AgentReply,
    ConversationOut,
    Customer,
    LastMessage,
    MediaOut,
    MessageError,
    MessageOut,
    ReactionOut,
    ReplyContext,
    StatusAt,
    Window,
)
from shared.window import is_window_open

Doc = Mapping[str, Any]
MEDIA_TYPES = frozenset({"image", "video", "audio", "document", "sticker"})


def conversation_view(doc: Doc, now: datetime) -> ConversationOut:
    last_inbound = doc.get("last_inbound_at")
    last_at = doc.get("last_message_at")
    preview = doc.get("last_message_preview") or ""
    last_message = None
    if doc.get("last_message_id") or last_at is not None:
        last_message = LastMessage(preview=preview, at=last_at,
                                   direction=doc.get("last_message_direction"))
    reply_at = doc.get("last_agent_reply_at")
    return ConversationOut(
        id=doc["_id"],
        business_phone_number_id=doc.get("business_phone_number_id") or "",
        customer=Customer(**customer_fields(doc)),
        last_message=last_message,
        last_activity_at=doc.get("last_activity_at"),
        unread_count=int(doc.get("unread_count") or 0),
        status="resolved" if doc.get("status") == "resolved" else "open",
        assignee_id=doc.get("assignee_id"),
        # Closed also when Meta answered 131047 since the customer's last message, whatever
        # expires_at says: the composer then offers templates only (shared/window.py).
        window=Window(open=is_window_open(last_inbound, now, doc.get("window_closed_at")),
                      expires_at=doc.get("window_expires_at")),
        last_agent_reply=(AgentReply(at=reply_at, agent_id=doc.get("last_agent_id"))
                          if reply_at is not None else None),
        version=int(doc.get("version") or 0),
    )


def message_view(doc: Doc, quoted_previews: Mapping[str, str] | None = None) -> MessageOut:
    content = doc.get("content") or {}
    message_type = doc.get("message_type") or "unknown"
    reply = doc.get("reply_to") or None
    reply_to = None
    if reply and reply.get("wamid"):
        reply_to = ReplyContext(wamid=reply["wamid"],
                                preview=(quoted_previews or {}).get(reply["wamid"]))
    error = doc.get("error")
    direction = doc.get("direction")
    return MessageOut(
        id=doc["_id"],
        wamid=doc.get("wamid"),
        direction=direction if direction in ("outbound", "system") else "inbound",
        type=message_type,
        text=message_text(message_type, content, doc.get("preview") or ""),
        content=dict(content),
        sent_at=doc.get("sent_at"),
        status=doc.get("status") or ("received" if doc.get("direction") == "inbound"
                                     else "unknown"),
        statuses=[StatusAt(status=s["status"], at=s["at"]) for s in doc.get("statuses") or []
                  if s.get("status") and s.get("at") is not None],
        error=_error_view(error) if error else None,
        reply_to=reply_to,
        reactions=[ReactionOut(by=r["by"], emoji=r["emoji"]) for r in doc.get("reactions") or []
                   if r.get("by") in ("customer", "business") and r.get("emoji")],
        edited=bool(doc.get("edited")),
        deleted=bool(doc.get("deleted")),
        actor_id=doc.get("actor_id"),
        media=media_view(message_type, content),
        reference=doc.get("reference"),
    )


def message_text(message_type: str, content: Mapping[str, Any], preview: str) -> str:
    """What the bubble says: the text itself where there is one, else the preview."""
    if message_type == "system":
        line = identity_change_text(content)
        if line is not None:
            return line
    if message_type == "text":
        body = content.get("body", content.get("text"))
        if isinstance(body, str):
            return body
    if message_type == "template":
        rendered = content.get("text")
        if isinstance(rendered, str) and rendered:
            return rendered
    return preview


def media_view(message_type: str, content: Mapping[str, Any]) -> MediaOut | None:
    if message_type not in MEDIA_TYPES:
        return None
    # Inbound: Meta's object ({id, mime_type, caption, ...}); outbound: what the sender sent.
    inner = content.get("media")
    media: Mapping[str, Any] = inner if isinstance(inner, Mapping) else content
    media_id = media.get("id") or media.get("media_id")
    if not isinstance(media_id, str) or not media_id:
        return None
    return MediaOut(id=media_id, mime_type=_str(media.get("mime_type")),
                    caption=_str(media.get("caption")), filename=_str(media.get("filename")),
                    url=f"/api/v1/media/{media_id}")


def _error_view(error: Mapping[str, Any]) -> MessageError:
    code = error.get("code")
    return MessageError(code=code if isinstance(code, int) else None,
                        title=_str(error.get("title")),
                        detail=_str(error.get("message")) or _str(error.get("details")),
                        reason=_str(error.get("reason")), hint=_str(error.get("hint")))


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None
