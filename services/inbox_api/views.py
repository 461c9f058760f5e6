"""Stored documents (docs/data-model.md) -> the API's JSON shapes. Pure: ``now`` is passed in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from services.inbox_api.schemas import (
    AgentList,
    AgentOut,
    AgentReply,
    ChannelOut,
    ConversationOut,
    Customer,
    LastMessage,
    MediaOut,
    MessageError,
    MessageOut,
    ReactionOut,
    ReplyContext,
    StatusAt,
    TemplateOut,
    TemplateParameter,
    Window,
)
from services.inbox_api.template_variables import body_text_of, parameter_keys
from shared.channels import Channel
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
        customer=Customer(wa_id=doc.get("customer_wa_id") or "", name=doc.get("contact_name")),
        last_message=last_message,
        last_activity_at=doc.get("last_activity_at"),
        unread_count=int(doc.get("unread_count") or 0),
        status="resolved" if doc.get("status") == "resolved" else "open",
        assignee_id=doc.get("assignee_id"),
        window=Window(open=is_window_open(last_inbound, now),
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
    return MessageOut(
        id=doc["_id"],
        wamid=doc.get("wamid"),
        direction="outbound" if doc.get("direction") == "outbound" else "inbound",
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


def template_view(doc: Doc) -> TemplateOut:
    body = body_text_of(doc.get("components") or [])
    return TemplateOut(name=doc.get("name") or "", language=doc.get("language") or "",
                       category=doc.get("category"), status=doc.get("status") or "UNKNOWN",
                       body_text=body,
                       parameters=[TemplateParameter(key=k, example=None)
                                   for k in parameter_keys(body)])


def agent_list(key_docs: Iterable[Doc]) -> AgentList:
    """One entry per agent id (an agent may hold several keys): the newest key's name wins,
    since renaming someone means giving them a new key. Sorted by name, then id."""
    newest: dict[str, Doc] = {}
    for doc in key_docs:
        agent_id = doc.get("agent_id")
        if not isinstance(agent_id, str) or not agent_id:
            continue
        seen = newest.get(agent_id)
        if seen is None or _created(doc) >= _created(seen):
            newest[agent_id] = doc
    agents = [AgentOut(id=agent_id, display_name=_str(doc.get("display_name")) or agent_id,
                       kind="service" if doc.get("kind") == "service" else "agent")
              for agent_id, doc in newest.items()]
    return AgentList(items=sorted(agents, key=lambda a: (a.display_name.casefold(), a.id)))


def channel_view(channel: Channel) -> ChannelOut:
    return ChannelOut(phone_number_id=channel.phone_number_id,
                      display_phone_number=channel.display_phone_number,
                      waba_id=channel.waba_id)


def _created(doc: Doc) -> datetime:
    at = doc.get("created_at")
    return at if isinstance(at, datetime) else datetime.min.replace(tzinfo=UTC)


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None
