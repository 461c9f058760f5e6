"""The simulated customer: an inbound message as Meta's webhook carries it. Pure: no I/O.

The control API takes a type and (part of) its object; what is left out gets a plausible default
(a media id and MIME type, a button reply, ...) so ``{"type": "image"}`` alone is a valid photo.

System messages: ``{"type": "system"}`` alone is a number change (``user_changed_number``) to
the next number (``…1234`` -> ``…1235``; ``content.wa_id`` names another). With
``content.type: "user_changed_user_id"`` the customer gets a new BSUID and Meta shows no number
(``content.wa_id`` is then the hidden new number the BSUID is derived from, ``content.user_id``
the BSUID itself). :func:`sandbox.webhooks.message_payload` adds the BSUIDs.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Raw = dict[str, Any]

# Customer messages that do not open (or restart) the customer-service window.
NOT_FROM_THE_CUSTOMER = frozenset({"system"})

# What Meta puts on a message of a type the Cloud API does not support (poll, edit, ...).
UNSUPPORTED_ERROR: Raw = {"code": 131051, "title": "Message type unknown",
                          "message": "Message type unknown",
                          "error_data": {"details": "Message type is currently not supported."}}

_MIME = {"image": "image/jpeg", "video": "video/mp4", "audio": "audio/ogg; codecs=opus",
         "document": "application/pdf", "sticker": "image/webp"}


class CustomerMessage(BaseModel):
    """Control API body: what the simulated customer sends to a business number."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    phone_number_id: str = Field(min_length=1)
    from_wa_id: str = Field(alias="from", min_length=1)
    type: str = Field(default="text", min_length=1, max_length=40)
    content: Raw | list[Any] | str | None = None
    name: str | None = "Sandbox Customer"
    context: Raw | None = None
    referral: Raw | None = None
    # The customer's username, and whether Meta hides their number (None: as before); ``from``
    # may also be a BSUID or a former number of the customer (see sandbox.personas).
    username: str | None = Field(default=None, min_length=1, max_length=64)
    hide_number: bool | None = None
    # A media message's file size in bytes (its placeholder padded to it; not in the webhook,
    # as Meta's is not: GET /{media_id} answers it as ``file_size``).
    media_bytes: int | None = Field(default=None, ge=1, le=256 * 1024 * 1024)
    # The message was sent this long ago and reaches the business only now (Meta retries a
    # webhook for up to 7 days; its timestamp stays the sending time): "a customer who last
    # wrote 25 hours ago", whose window is closed for the sandbox and the product alike.
    sent_seconds_ago: float | None = Field(default=None, ge=0, le=30 * 86400)


class CustomerChange(BaseModel):
    """Control API body: shape a customer (``PUT /_sandbox/customers``) or change who they
    are (``/change-number``, ``/change-user-id``, ``/share-number``). ``customer`` is any
    number or BSUID the customer ever had."""

    model_config = ConfigDict(extra="forbid")

    phone_number_id: str = Field(min_length=1)
    customer: str = Field(min_length=1)
    username: str | None = Field(default=None, min_length=1, max_length=64)
    hide_number: bool | None = None
    name: str | None = "Sandbox Customer"
    new_wa_id: str | None = None  # change-number / change-user-id: the (hidden) new number
    new_user_id: str | None = None  # change-user-id: the new BSUID itself
    how: str = Field(default="contact_request", pattern="^(contact_request|message)$")
    text: str = "Here is my number"  # share-number how=message


class InvalidCustomerMessage(ValueError):
    """The control request cannot become a message (e.g. a reaction without its message_id)."""


def opens_window(message_type: str) -> bool:
    return message_type not in NOT_FROM_THE_CUSTOMER


def inbound_message(request: CustomerMessage, wamid: str, timestamp: int) -> Raw:
    """One ``messages[]`` element of Meta's webhook."""
    kind = request.type
    message: Raw = {"from": request.from_wa_id, "id": wamid, "timestamp": str(timestamp),
                    "type": kind}
    if request.context is not None:
        message["context"] = dict(request.context)
    message[kind] = _content(kind, request.content, wamid)
    if kind == "system":
        message[kind] = _system(message[kind], request)
    if request.referral is not None:
        message["referral"] = dict(request.referral)
    if kind == "unsupported":
        message["errors"] = [UNSUPPORTED_ERROR]
    return message


def message_content(kind: str, given: Raw | list[Any] | str | None, wamid: str) -> Any:
    """A ``kind`` object as a webhook carries it: ``given`` (a string is a text's body) with
    defaults for what is left out (a media id and MIME type, ...); ``wamid`` seeds the media
    id. Raises :class:`InvalidCustomerMessage`."""
    return _content(kind, given, wamid)


def _content(kind: str, given: Raw | list[Any] | str | None, wamid: str) -> Any:
    if kind == "contacts":
        if given is None:
            return [{"name": {"formatted_name": "Jane Doe", "first_name": "Jane"},
                     "phones": [{"phone": "+1 555 0100", "type": "CELL"}]}]
        if not isinstance(given, list):
            raise InvalidCustomerMessage("contacts content must be a list")
        return given
    if isinstance(given, list):
        raise InvalidCustomerMessage(f"{kind} content must be an object")
    if isinstance(given, str):
        if kind != "text":
            raise InvalidCustomerMessage(f"{kind} content must be an object")
        given = {"body": given}
    obj: Raw = dict(given or {})
    defaults = _defaults(kind, wamid)
    if kind == "reaction" and not obj.get("message_id"):
        raise InvalidCustomerMessage("a reaction needs content.message_id (the wamid it is on)")
    if kind == "location" and ("latitude" in obj) != ("longitude" in obj):
        raise InvalidCustomerMessage("a location needs both latitude and longitude")
    return {**defaults, **obj}


def _defaults(kind: str, wamid: str) -> Raw:
    if kind in _MIME:
        media_id = str(int(hashlib.sha256(wamid.encode()).hexdigest()[:15], 16))
        out: Raw = {"mime_type": _MIME[kind],
                    "sha256": base64.b64encode(hashlib.sha256(media_id.encode()).digest())
                    .decode(),
                    "id": media_id}
        if kind == "document":
            out["filename"] = "document.pdf"
        if kind == "audio":
            out["voice"] = True
        if kind == "sticker":
            out["animated"] = False
        return out
    match kind:
        case "text":
            return {"body": "Hello"}
        case "location":
            return {"latitude": 37.483307, "longitude": -122.148981}
        case "interactive":
            return {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes"}}
        case "button":
            return {"text": "Yes", "payload": "YES"}
        case "order":
            return {"catalog_id": "1000000000000", "text": "",
                    "product_items": [{"product_retailer_id": "sku-1", "quantity": 1,
                                       "item_price": 9.99, "currency": "USD"}]}
        case "system":
            return {"type": "user_changed_number"}
        case "unsupported":
            return {"type": "unknown"}
        case _:
            return {}


def _system(system: Raw, request: CustomerMessage) -> Raw:
    """A number change names the new number, and its body says so (as Meta's does)."""
    kind = system.get("type") or "user_changed_number"
    if kind not in ("user_changed_number", "user_changed_user_id"):
        return {**system, "type": kind}
    new_number = system.get("wa_id") or next_number(request.from_wa_id)
    out: Raw = {**system, "type": kind, "wa_id": str(new_number)}
    if kind == "user_changed_number" and not out.get("body"):
        who = request.name or request.from_wa_id
        out["body"] = f"User {who} changed from {request.from_wa_id} to {new_number}"
    return out


def next_number(number: str) -> str:
    """A plausible new number for a customer who changes theirs: the next one (…1234 -> …1235)."""
    digits = number[1:] if number.startswith("+") else number
    if not digits.isdigit() or len(digits) < 8:
        raise InvalidCustomerMessage("a number change needs content.wa_id (the new number)")
    tail = (int(digits[-4:]) + 1) % 10_000
    return f"{digits[:-4]}{tail:04d}"
