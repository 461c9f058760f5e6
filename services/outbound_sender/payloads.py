"""Commands as Cloud API request bodies, and as the content the thread shows (pure)."""

from __future__ import annotations

from typing import Any

from shared import callback_data
from shared.events import (
    AnySend,
    JsonObject,
    MarkRead,
    OutboundContent,
    React,
    SendMedia,
    SendTemplate,
    SendText,
    ShowTyping,
)

# Media types whose object takes a caption (Meta ignores or refuses it on audio and stickers).
CAPTIONED = frozenset({"image", "video", "document"})


def message_body(command: AnySend) -> JsonObject:
    """The ``POST /{phone_number_id}/messages`` body for a send command."""
    body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual",
                            **recipient_fields(command)}
    if isinstance(command, SendText):
        body["type"] = "text"
        body["text"] = {"body": command.text, "preview_url": command.preview_url}
    elif isinstance(command, SendTemplate):
        body["type"] = "template"
        body["template"] = {
            "name": command.template_name,
            "language": {"code": command.language},
            "components": [_component(c.model_dump(exclude_none=True))
                           for c in command.components],
        }
    elif isinstance(command, SendMedia):
        body["type"] = command.media_type
        body[command.media_type] = _media_object(command)
    else:
        assert isinstance(command, React)
        body["type"] = "reaction"
        body["reaction"] = {"message_id": command.message_wamid, "emoji": command.emoji}
    # A reaction cannot be a contextual reply (Meta refuses it).
    if command.reply_to_wamid and not isinstance(command, React):
        body["context"] = {"message_id": command.reply_to_wamid}
    # Meta echoes it on every status of the message: a send in doubt is resolved by its statuses.
    body["biz_opaque_callback_data"] = callback_data.encode(command.command_id, command.reference)
    return body


def recipient_fields(command: AnySend) -> JsonObject:
    """Who the send goes to: ``to`` = the number when it is known (with "+", Meta never
    prepends the business number's country code), else ``recipient`` = the BSUID of a customer
    who hides their number (/work/shared/whatsapp-cloud-api.md section 12). Never both: Meta
    would take ``to`` anyway."""
    if command.customer_wa_id:
        return {"to": f"+{command.customer_wa_id}"}
    assert command.customer_user_id  # the command's validator requires one of the two
    return {"recipient": command.customer_user_id}


def mark_read_body(command: MarkRead) -> JsonObject | None:
    """The read-receipt body, or None when there is nothing to mark: the command names no
    message, or the tenant turned read receipts off (``send_receipt`` False)."""
    if not command.message_wamid or not command.send_receipt:
        return None
    return {"messaging_product": "whatsapp", "status": "read",
            "message_id": command.message_wamid}


def typing_body(command: ShowTyping) -> JsonObject:
    """The typing-indicator body: Meta's mark-as-read plus ``typing_indicator`` (it marks the
    message read too)."""
    return {"messaging_product": "whatsapp", "status": "read",
            "message_id": command.message_wamid, "typing_indicator": {"type": "text"}}


def content_of(command: AnySend) -> OutboundContent:
    """What the thread shows for this send, whatever its outcome."""
    reply_to = command.reply_to_wamid
    if isinstance(command, SendText):
        return OutboundContent(kind="text", text=command.text, reply_to_wamid=reply_to)
    if isinstance(command, SendTemplate):
        return OutboundContent(kind="template", text=command.rendered_text,
                               template_name=command.template_name,
                               template_language=command.language, reply_to_wamid=reply_to)
    if isinstance(command, SendMedia):
        media: JsonObject = {"type": command.media_type, **_media_object(command)}
        return OutboundContent(kind="media", text=command.caption, media=media,
                               reply_to_wamid=reply_to)
    assert isinstance(command, React)
    return OutboundContent(kind="reaction", reaction_to_wamid=command.message_wamid,
                           emoji=command.emoji)


def _media_object(command: SendMedia) -> JsonObject:
    media: JsonObject = {}
    # An uploaded id is preferred to a link (Meta caches links for 10 minutes only).
    if command.media_id:
        media["id"] = command.media_id
    elif command.link:
        media["link"] = command.link
    if command.caption and command.media_type in CAPTIONED:
        media["caption"] = command.caption
    if command.filename and command.media_type == "document":
        media["filename"] = command.filename
    return media


def _component(component: dict[str, Any]) -> JsonObject:
    # Meta documents button indexes as strings ("0").
    if "index" in component:
        component["index"] = str(component["index"])
    return component
