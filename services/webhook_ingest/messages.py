"""One message of a webhook -> :class:`MessageReceived` (the customer wrote) or
:class:`MessageEchoed` (the business wrote from the WhatsApp Business app: coexistence).

The type-specific object (``text``, ``image``, ...) is kept verbatim as ``content``; the fields
every type shares are lifted into the contract; keys this parser does not know go to ``extra``
(and so does the raw form of any object whose typed version drops a key), so no field is lost.

Edits and deletions are messages of their own (``type: "edit"`` with ``edit{original_message_id,
message{type, <type object>}}``; ``type: "revoke"`` with ``revoke{original_message_id}``): their
``original_wamid`` names the message they change, and an edit's ``content`` is the new type
object (``edited_type`` its type). Meta's older payloads showed both as ``unsupported``
(``unsupported{type: "edit"}``, error 131051) with no original id: those stay ``unsupported``.

Size: one message's mapping, read side by side with Meta's reference: the shared fields, the
customer (number, BSUID, profile, identity changes), edits and deletions, and the preview of
every type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, Literal

from services.webhook_ingest.ids import named_id
from services.webhook_ingest.payload import (
    Metadata,
    NoCustomerIdentity,
    Raw,
    customer_conversation_id,
    epoch,
    leftovers,
    meta_errors,
)
from shared.channels import UNASSIGNED_TENANT
from shared.events.inbound import (
    CustomerProfile,
    IdentityChange,
    InboundMessage,
    MessageEchoed,
    MessageReceived,
    ReplyContext,
)
from shared.phone import InvalidPhoneNumber, canonical_wa_id

__all__ = ["NoCustomerIdentity", "contact_profile", "parse_echo", "parse_message", "preview",
           "previous_user_id", "same_number"]

_COMMON_KEYS = frozenset({"from", "from_user_id", "id", "timestamp", "type", "context",
                          "referral", "errors"})
# An echo names the business in ``from`` and the customer in ``to`` / ``to_user_id``.
_ECHO_KEYS = frozenset({"from", "to", "to_user_id", "to_parent_user_id", "id", "timestamp",
                        "type", "context", "referral", "errors"})
_CONTEXT_KEYS = frozenset({"id", "from", "forwarded", "frequently_forwarded", "referred_product"})
_CONTACT_KEYS = frozenset({"wa_id", "profile", "user_id", "parent_user_id"})
_PROFILE_KEYS = frozenset({"name", "username"})
_EDIT_KEYS = frozenset({"original_message_id", "message"})
# system.type values that change who the customer is -> IdentityChange.kind
_IDENTITY_CHANGES: dict[str, Literal["number", "user_id"]] = {
    "user_changed_number": "number", "user_changed_user_id": "user_id"}
PREVIEW_LIMIT = 200


def parse_message(
    raw: Mapping[str, Any],
    metadata: Metadata,
    contacts: Sequence[Any],
    tenant_id: str = UNASSIGNED_TENANT,
    salt: str = "",
    *,
    history: bool = False,
    customer_hint: str | None = None,
    id_kind: str = "message",
) -> MessageReceived:
    """The event for one ``value.messages[]`` item; ``ValueError`` if it is unusable.

    The sender is ``from`` (the number, absent when Meta hides it) and ``from_user_id`` (the
    BSUID); with neither, :class:`NoCustomerIdentity`. The conversation id set here is the derived
    one (:func:`shared.contacts.derived_conversation_id`); the service replaces it with the
    contact directory's answer before publishing. ``history`` marks a message of the WhatsApp
    Business app's chat-history sync (``customer_hint``: its thread's number, for a message that
    names no sender); ``id_kind`` names the event id's kind (a history media follow-up repeats a
    wamid already published).
    """
    payload = inbound_message(raw, metadata, contacts, echo=False, history=history,
                              customer_hint=customer_hint)
    return MessageReceived(**_envelope(payload, metadata, tenant_id, id_kind, salt))


def parse_echo(
    raw: Mapping[str, Any],
    metadata: Metadata,
    contacts: Sequence[Any],
    tenant_id: str = UNASSIGNED_TENANT,
    salt: str = "",
    *,
    history: bool = False,
    customer_hint: str | None = None,
    id_kind: str = "echo",
) -> MessageEchoed:
    """The event for one ``message_echoes[]`` item (or a business message of a history sync).

    The customer is ``to`` / ``to_user_id`` (``to_parent_user_id`` their parent BSUID); ``from``
    is the business number, kept in ``extra`` only when it is not the change's display number.
    """
    payload = inbound_message(raw, metadata, contacts, echo=True, history=history,
                              customer_hint=customer_hint)
    return MessageEchoed(**_envelope(payload, metadata, tenant_id, id_kind, salt))


def _envelope(payload: InboundMessage, metadata: Metadata, tenant_id: str, id_kind: str,
              salt: str) -> dict[str, Any]:
    """The event's envelope around a message, received or echoed: one id per wamid and kind,
    keyed by the customer's conversation."""
    return {
        "event_id": named_id(id_kind, payload.wamid, salt=salt),
        "occurred_at": payload.sent_at,
        "tenant_id": tenant_id,
        "conversation_id": customer_conversation_id(metadata.phone_number_id,
                                                    payload.from_wa_id, payload.from_user_id),
        "payload": payload,
    }


def inbound_message(
    raw: Mapping[str, Any],
    metadata: Metadata,
    contacts: Sequence[Any],
    *,
    echo: bool = False,
    history: bool = False,
    customer_hint: str | None = None,
) -> InboundMessage:
    """One message as the contract's payload, whoever wrote it (see :func:`parse_echo`)."""
    wamid = _required_str(raw, "id")
    if echo:
        customer_number = _optional_str(raw, "to")
        customer_user_id = _optional_str(raw, "to_user_id")
    else:
        customer_number = _optional_str(raw, "from")
        customer_user_id = _optional_str(raw, "from_user_id")
    if customer_number is None and customer_user_id is None:
        customer_number = customer_hint
    if customer_number is None and customer_user_id is None:
        raise NoCustomerIdentity(
            f"message has neither {'to' if echo else 'from'!r} nor "
            f"{'to_user_id' if echo else 'from_user_id'!r}")
    message_type = _required_str(raw, "type")
    sent_at = epoch(raw.get("timestamp"))

    original_wamid = edited_type = None
    if message_type == "edit":
        original_wamid, edited_type, content, edit_lossy = _edit(raw.get("edit"))
    elif message_type == "revoke":
        revoke = raw.get("revoke")
        if not isinstance(revoke, dict):
            raise ValueError("revoke is not an object")
        original_wamid = _required_str(revoke, "original_message_id")
        content, edit_lossy = dict(revoke), False
    else:
        body = raw.get(message_type)
        if isinstance(body, dict):
            content = dict(body)
        elif body is not None:
            content = {message_type: body}  # ``contacts`` is a list
        else:
            content = {}
        edit_lossy = False
    extra = leftovers(raw, _ECHO_KEYS | {message_type} if echo else _known_keys(message_type))
    if edit_lossy:
        extra["edit"] = raw.get("edit")
    if echo:
        business = raw.get("from")
        if business is not None and not same_number(business, metadata.display_phone_number):
            extra["from"] = business
    if metadata.extra:
        extra["metadata"] = metadata.extra

    errors, errors_complete = meta_errors(raw.get("errors"))
    if not errors_complete:
        extra["errors"] = raw.get("errors")

    context = None
    raw_context = raw.get("context")
    if isinstance(raw_context, dict):
        context = _context(raw_context)
        if not raw_context.keys() <= _CONTEXT_KEYS:
            extra["context"] = raw_context
    elif raw_context is not None:
        extra["context"] = raw_context

    referral = raw.get("referral")
    if referral is not None and not isinstance(referral, dict):
        extra["referral"] = referral
        referral = None

    customer, raw_contact = _customer(customer_number, customer_user_id, contacts)
    if raw_contact is not None:
        extra["contact"] = raw_contact
    if echo and (parent := _optional_str(raw, "to_parent_user_id")) is not None:
        if customer is None:
            customer = CustomerProfile(wa_id=customer_number, user_id=customer_user_id,
                                       parent_user_id=parent)
        elif customer.parent_user_id != parent:
            if customer.parent_user_id is not None:
                extra["to_parent_user_id"] = parent
            else:
                customer = customer.model_copy(update={"parent_user_id": parent})
    identity_change = _identity_change(content) if message_type == "system" else None

    shown_type = edited_type if edited_type is not None else message_type
    return InboundMessage(
        wamid=wamid,
        message_type=message_type,
        sent_at=sent_at,
        business_phone_number_id=metadata.phone_number_id,
        business_display_number=metadata.display_phone_number,
        from_wa_id=customer_number,
        from_user_id=customer_user_id,
        customer=customer,
        content=content,
        preview=preview(shown_type, content),
        context=context,
        referral=referral,
        errors=errors,
        identity_change=identity_change,
        original_wamid=original_wamid,
        edited_type=edited_type,
        history=history,
        extra=extra,
    )


def _edit(edit: Any) -> tuple[str, str, Raw, bool]:
    """``edit{original_message_id, message{type, <type>: {...}}}`` -> the original wamid, the
    new content's type, the new content, and whether the raw edit holds more than those."""
    if not isinstance(edit, dict):
        raise ValueError("edit is not an object")
    original = _required_str(edit, "original_message_id")
    message = edit.get("message")
    if not isinstance(message, dict):
        raise ValueError("edit has no 'message' object")
    edited_type = _required_str(message, "type")
    body = message.get(edited_type)
    if isinstance(body, dict):
        content: Raw = dict(body)
    elif body is not None:
        content = {edited_type: body}
    else:
        content = {}
    lossy = not edit.keys() <= _EDIT_KEYS or not message.keys() <= {"type", edited_type}
    return original, edited_type, content, lossy


def same_number(value: Any, display: str | None) -> bool:
    """True when ``value`` is the number ``display`` (compared canonically: ``+``, spaces)."""
    if display is None or isinstance(value, dict | list):
        return False
    return _canonical(str(value)) == _canonical(display)


@lru_cache(maxsize=256)
def _known_keys(message_type: str) -> frozenset[str]:
    return _COMMON_KEYS | {message_type}


def _optional_str(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, dict | list):
        raise ValueError(f"message has no usable {key!r}")
    return str(value)


def _identity_change(system: Mapping[str, Any]) -> IdentityChange | None:
    """``user_changed_number`` (``system.wa_id`` the new number, ``system.user_id`` the new
    BSUID when given) or ``user_changed_user_id`` (``system.user_id`` the new BSUID)."""
    kind = _IDENTITY_CHANGES.get(str(system.get("type")))
    if kind is None:
        return None
    new_wa_id = _optional_str(system, "wa_id") if kind == "number" else None
    return IdentityChange(kind=kind,
                          new_wa_id=new_wa_id, new_user_id=_optional_str(system, "user_id"))


def previous_user_id(message: InboundMessage) -> str | None:
    """The BSUID a system message's customer had before the change (Meta's
    ``system.previous_user_id``, else the sender's ``from_user_id`` when it is not the new one)."""
    previous = message.content.get("previous_user_id")
    if isinstance(previous, str) and previous:
        return previous
    change = message.identity_change
    if change is not None and message.from_user_id == change.new_user_id:
        return None
    return message.from_user_id


def _required_str(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    if value is None or value == "" or isinstance(value, dict | list):
        raise ValueError(f"message has no usable {key!r}")
    return str(value)


def _context(raw: Mapping[str, Any]) -> ReplyContext:
    product = raw.get("referred_product")
    return ReplyContext(
        message_id=_opt_str(raw.get("id")),
        from_number=_opt_str(raw.get("from")),
        forwarded=raw.get("forwarded") is True,
        frequently_forwarded=raw.get("frequently_forwarded") is True,
        referred_product=product if isinstance(product, dict) else None,
    )


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _customer(
    sender: str | None, sender_user_id: str | None, contacts: Sequence[Any]
) -> tuple[CustomerProfile | None, Raw | None]:
    """The sender's profile from ``value.contacts`` and, if it has more than we map, its raw form.

    Matched by BSUID, else by number: ``from`` and ``contacts[].wa_id`` may spell the number
    differently (Brazil's 9th digit), so they are compared canonically; a lone contact is taken
    as the sender's.
    """
    if len(contacts) == 1 and isinstance(contacts[0], dict):
        match: Raw | None = contacts[0]  # the usual case: one message, its one contact
    else:
        candidates = [c for c in contacts if isinstance(c, dict)]
        match = None
        if sender_user_id is not None:
            match = next((c for c in candidates if c.get("user_id") == sender_user_id), None)
        if match is None and sender is not None:
            match = next((c for c in candidates if str(c.get("wa_id")) == sender), None)
            if match is None:
                key = _canonical(sender)
                match = next((c for c in candidates
                              if _canonical(str(c.get("wa_id"))) == key), None)
        if match is None and len(candidates) == 1:
            match = candidates[0]
    if match is None:
        return None, None
    customer = contact_profile(match)
    profile = match.get("profile")
    lossy = not match.keys() <= _CONTACT_KEYS or (
        profile is not None
        and (not isinstance(profile, dict) or not profile.keys() <= _PROFILE_KEYS)
    ) or any(isinstance(match.get(k), dict | list)
             for k in ("wa_id", "user_id", "parent_user_id"))
    return customer, (match if lossy or customer is None else None)


def contact_profile(contact: Mapping[str, Any]) -> CustomerProfile | None:
    """A ``contacts[]`` element as a profile; None when it names neither number nor BSUID."""
    profile = contact.get("profile")
    name = profile.get("name") if isinstance(profile, dict) else None
    username = profile.get("username") if isinstance(profile, dict) else None
    wa_id = _scalar(contact.get("wa_id"))
    user_id = _scalar(contact.get("user_id"))
    if wa_id is None and user_id is None:
        return None
    return CustomerProfile(wa_id=wa_id, name=_opt_str(name), user_id=user_id,
                           parent_user_id=_scalar(contact.get("parent_user_id")),
                           username=_opt_str(username))


def _scalar(value: Any) -> str | None:
    if value is None or value == "" or isinstance(value, dict | list):
        return None
    return str(value)


def _canonical(number: str) -> str:
    try:
        return canonical_wa_id(number)
    except InvalidPhoneNumber:
        return number


_MEDIA_LABELS = {
    "image": "📷 Photo",
    "video": "🎥 Video",
    "sticker": "💟 Sticker",
    "document": "📄 Document",
}


def preview(message_type: str, content: Mapping[str, Any]) -> str:
    """A short text for the conversation list and notifications (never logged)."""
    text = _preview(message_type, content).strip()
    return text if len(text) <= PREVIEW_LIMIT else text[: PREVIEW_LIMIT - 1] + "…"


def _preview(message_type: str, content: Mapping[str, Any]) -> str:
    match message_type:
        case "text" | "system":
            return _s(content.get("body"))
        case "image" | "video" | "sticker":
            return _s(content.get("caption")) or _MEDIA_LABELS[message_type]
        case "document":
            return "📄 " + (
                _s(content.get("caption")) or _s(content.get("filename")) or "Document"
            )
        case "audio":
            return "🎤 Voice message" if content.get("voice") is True else "🎵 Audio"
        case "location":
            place = _s(content.get("name")) or _s(content.get("address"))
            return f"📍 {place}" if place else "📍 Location"
        case "contacts":
            return "👤 " + (_contact_names(content.get("contacts")) or "Contact")
        case "interactive":
            return _interactive(content)
        case "button":
            return _s(content.get("text")) or _s(content.get("payload"))
        case "reaction":
            emoji = _s(content.get("emoji"))
            return f"Reacted {emoji}" if emoji else "Removed a reaction"
        case "order":
            items = content.get("product_items")
            count = len(items) if isinstance(items, list) else 0
            label = f"🛒 Order ({count} item{'s' if count != 1 else ''})"
            note = _s(content.get("text"))
            return f"{label}: {note}" if note else label
        case "unsupported" | "unknown":
            kind = _s(content.get("type"))
            return f"Unsupported message ({kind})" if kind else "Unsupported message"
        case "request_welcome":
            return "Opened the chat"
        case "revoke":
            return "🚫 Deleted a message"
        case "media_placeholder":
            # A history sync's media message: its file follows later, or never (over 14 days).
            return "📎 Media (not synced)"
        case _:
            return f"[{message_type}]"


def _interactive(content: Mapping[str, Any]) -> str:
    kind = _s(content.get("type"))
    reply = content.get(kind) if kind else None
    if isinstance(reply, dict):
        title = _s(reply.get("title")) or _s(reply.get("body"))
        if title:
            return title
    if kind == "nfm_reply":
        return "Form response"
    if kind == "call_permission_reply" and isinstance(reply, dict):
        response = _s(reply.get("response"))
        if response == "accept":
            return "📞 Allowed calls"
        if response == "reject":
            return "📞 Declined calls"
        return f"📞 Call permission: {response}" if response else "📞 Call permission"
    return f"[interactive {kind}]" if kind else "[interactive]"


def _contact_names(contacts: Any) -> str:
    if not isinstance(contacts, list):
        return ""
    names = []
    for contact in contacts:
        name = contact.get("name") if isinstance(contact, dict) else None
        if isinstance(name, dict) and name.get("formatted_name"):
            names.append(str(name["formatted_name"]))
    return ", ".join(names)


def _s(value: Any) -> str:
    return value if isinstance(value, str) else ""
