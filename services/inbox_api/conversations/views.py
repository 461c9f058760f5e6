"""Stored conversations and messages (docs/data-model.md) -> the API's JSON shapes. Pure:
``now`` is passed in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from services.inbox_api.conversations.message_changes import with_changes
from services.inbox_api.conversations.people import customer_fields, identity_change_text
from services.inbox_api.conversations.schemas import (
    AgentReply,
    CampaignRef,
    ConversationLabel,
    ConversationOut,
    Customer,
    LastMessage,
    MediaArchiveOut,
    MediaOut,
    MessageError,
    MessageOut,
    ReactionOut,
    ReplyContext,
    StatusAt,
    Window,
)
from shared.media_archive import RETRYABLE, ArchiveStatus
from shared.window import is_window_open

Doc = Mapping[str, Any]
MEDIA_TYPES = frozenset({"image", "video", "audio", "document", "sticker"})
# A status history reads in the order a message goes through them (the local "accepted", i.e.
# Sending, first), whatever the clocks say: Meta's "sent" carries WhatsApp's time, which can be
# earlier than the moment the sender recorded the Cloud API's answer. A status this table does
# not know sits between "accepted" and "sent"; failures and refusals come last.
STATUS_ORDER: dict[str, int] = {"unknown": 0, "accepted": 1, "sent": 3, "delivered": 4,
                                "read": 5, "played": 6, "failed": 7, "refused": 7}
UNLISTED_STATUS = 2


def label_chips(labels: Iterable[Doc], carried: set[str]) -> list[ConversationLabel]:
    """The labels (``labels`` documents, in their order) that a conversation carries."""
    return [ConversationLabel(id=str(d["_id"]), name=str(d.get("name") or ""),
                              colour=str(d.get("colour") or "#6e7781"))
            for d in labels if d["_id"] in carried]


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
        merged_into=doc.get("merged_into"),
    )


def message_view(doc: Doc, quoted_previews: Mapping[str, str] | None = None,
                 campaign_names: Mapping[str, str] | None = None,
                 archives: Mapping[str, Doc] | None = None) -> MessageOut:
    content = doc.get("content") or {}
    message_type = doc.get("message_type") or "unknown"
    reply = doc.get("reply_to") or None
    reply_to = None
    if reply and reply.get("wamid"):
        reply_to = ReplyContext(wamid=reply["wamid"],
                                preview=(quoted_previews or {}).get(reply["wamid"]))
    error = doc.get("error")
    direction = doc.get("direction")
    return with_changes(MessageOut(  # edits, deletion, app sender, call (message_changes.py)
        id=doc["_id"],
        wamid=doc.get("wamid"),
        direction=direction if direction in ("outbound", "system") else "inbound",
        type=message_type,
        text=message_text(message_type, content, doc.get("preview") or ""),
        content=dict(content),
        sent_at=doc.get("sent_at"),
        status=doc.get("status") or ("received" if doc.get("direction") == "inbound"
                                     else "unknown"),
        statuses=ordered_statuses(doc.get("statuses") or []),
        error=_error_view(error) if error else None,
        reply_to=reply_to,
        reactions=[ReactionOut(by=r["by"], emoji=r["emoji"]) for r in doc.get("reactions") or []
                   if r.get("by") in ("customer", "business") and r.get("emoji")],
        edited=bool(doc.get("edited")),
        deleted=bool(doc.get("deleted")),
        actor_id=doc.get("actor_id"),
        media=media_view(message_type, content, archives),
        reference=doc.get("reference"),
        forwarded=bool(reply and reply.get("forwarded")),
        frequently_forwarded=bool(reply and reply.get("frequently_forwarded")),
        referred_product=_object(reply.get("referred_product")) if reply else None,
        referral=_object(doc.get("referral")),
        errors=[_error_view(e) for e in doc.get("errors") or [] if isinstance(e, Mapping)],
        campaign=campaign_ref(doc.get("campaign_id"), campaign_names),
    ), doc)


def ordered_statuses(entries: Iterable[Any]) -> list[StatusAt]:
    """The history by the order a message goes through its statuses, then by time."""
    valid = [e for e in entries
             if isinstance(e, Mapping) and e.get("status") and e.get("at") is not None]
    valid.sort(key=lambda e: (STATUS_ORDER.get(e["status"], UNLISTED_STATUS), e["at"]))
    return [StatusAt(status=e["status"], at=e["at"]) for e in valid]


def campaign_ref(campaign_id: object,
                 names: Mapping[str, str] | None) -> CampaignRef | None:
    if not isinstance(campaign_id, str) or not campaign_id:
        return None
    return CampaignRef(id=campaign_id, name=(names or {}).get(campaign_id))


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


def media_view(message_type: str, content: Mapping[str, Any],
               archives: Mapping[str, Doc] | None = None) -> MediaOut | None:
    """``archives``: the ``media_archive`` records of the page's media, by media id."""
    media_id = media_id_of(message_type, content)
    if media_id is None:
        return None
    # Inbound: Meta's object ({id, mime_type, caption, ...}); outbound: what the sender sent.
    inner = content.get("media")
    media: Mapping[str, Any] = inner if isinstance(inner, Mapping) else content
    record = (archives or {}).get(media_id)
    return MediaOut(id=media_id, mime_type=_str(media.get("mime_type")),
                    caption=_str(media.get("caption")), filename=_str(media.get("filename")),
                    url=f"/api/v1/media/{media_id}",
                    archive=archive_view(record) if record is not None else None)


def media_id_of(message_type: str, content: Mapping[str, Any]) -> str | None:
    """The media id a message carries, if it is a media message."""
    if message_type not in MEDIA_TYPES:
        return None
    inner = content.get("media")
    media: Mapping[str, Any] = inner if isinstance(inner, Mapping) else content
    media_id = media.get("id") or media.get("media_id")
    return media_id if isinstance(media_id, str) and media_id else None


def archive_view(record: Doc) -> MediaArchiveOut | None:
    """A ``media_archive`` record (shared/media_archive.py) as the message shows it."""
    status = record.get("status")
    if status not in {s.value for s in ArchiveStatus}:
        return None
    size, limit = record.get("size"), record.get("limit")
    return MediaArchiveOut(status=status, reason=_str(record.get("reason")),
                           size=size if isinstance(size, int) else None,
                           limit=limit if isinstance(limit, int) else None,
                           retryable=status in RETRYABLE)


def _error_view(error: Mapping[str, Any]) -> MessageError:
    code = error.get("code")
    return MessageError(code=code if isinstance(code, int) else None,
                        title=_str(error.get("title")),
                        # Meta's details explain; its message often repeats the title.
                        detail=_str(error.get("details")) or _str(error.get("message")),
                        reason=_str(error.get("reason")), hint=_str(error.get("hint")))


def _object(value: object) -> dict[str, Any] | None:
    return dict(value) if isinstance(value, Mapping) and value else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None
