"""Reading a send request the way Meta does: shape checks with Meta's codes. Pure: no I/O.

``parse_send`` turns the JSON body of ``POST /{version}/{phone_number_id}/messages`` into an
:class:`Outgoing` or raises :class:`CloudApiError`: 100 for an unknown or malformed top-level
parameter, 131008 for a missing one, 131009 for a value that is not valid.

The recipient is ``to`` (a phone number, or a group id) or ``recipient`` (a business-scoped user
id, BSUID, ``US.13491208655302741918``, or a parent BSUID ``US.ENT.11815799212886844830``);
when both are given ``to`` wins, as at Meta. Media ids (``image.id``, a template header's
``image.id``, ...) are collected for the service to check that they exist.

Size: one reader per message kind of Meta's send reference, side by side so each can be checked
against it; all pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.errors import CloudApiError, invalid, missing, unknown_param

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 512
MEDIA_TYPES = frozenset({"image", "video", "audio", "document", "sticker"})
MESSAGE_TYPES = MEDIA_TYPES | {"text", "template", "reaction", "interactive", "location",
                               "contacts"}
INTERACTIVE_TYPES = frozenset({"button", "list", "cta_url", "product", "product_list", "flow",
                               "location_request_message", "address_message",
                               "call_permission_request", "catalog_message"})
_MESSAGE_KEYS = frozenset({"messaging_product", "recipient_type", "to", "recipient", "type",
                           "context", "biz_opaque_callback_data"})
# Meta's BSUID: an ISO 3166 alpha-2 country code, a dot, up to 128 alphanumerics; a parent BSUID
# has ``ENT.`` after the country.
BSUID = re.compile(r"[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128}")
_HEADER_MEDIA = ("image", "video", "document")
_READ_KEYS = frozenset({"messaging_product", "status", "message_id", "typing_indicator"})


@dataclass(frozen=True, slots=True)
class TemplateRef:
    """The template a request names, and how many body variables it fills."""

    name: str
    language: str
    body_parameters: int
    media_ids: tuple[str, ...] = ()  # of header parameters given by id


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A valid send request: a message to a recipient, or a mark-as-read."""

    message_type: str  # "text", "template", "image", ...; "read" for a mark-as-read
    to: str = ""  # as the caller wrote it (echoed in ``contacts[].input``)
    wa_id: str = ""  # digits only ("" until a ``recipient`` is resolved to a customer)
    user_id: str | None = None  # the BSUID of a message addressed by ``recipient``
    media_ids: tuple[str, ...] = ()  # uploaded media the message uses (``image.id``, ...)
    template: TemplateRef | None = None
    message_id: str | None = None  # the inbound wamid a mark-as-read is about
    reply_to: str | None = None
    callback_data: str | None = None
    group: bool = False

    @property
    def is_read(self) -> bool:
        return self.message_type == "read"

    @property
    def is_template(self) -> bool:
        return self.template is not None


def parse_send(body: Any) -> Outgoing:
    """The request, or the :class:`CloudApiError` Meta would answer."""
    if not isinstance(body, dict):
        raise CloudApiError(100, "The request body must be a JSON object.")
    product = body.get("messaging_product")
    if product is None:
        raise CloudApiError(100, "The parameter messaging_product is required.")
    if product != "whatsapp":
        raise CloudApiError(100, "Param messaging_product must be one of {WHATSAPP}.")
    if "status" in body:
        return _mark_read(body)
    return _message(body)


def _mark_read(body: Mapping[str, Any]) -> Outgoing:
    _no_unknown(body, _READ_KEYS)
    if body["status"] != "read":
        raise CloudApiError(100, "Param status must be one of {READ}.")
    message_id = _required_str(body, "message_id", "message_id")
    indicator = body.get("typing_indicator")
    if indicator is not None and (not isinstance(indicator, dict)
                                  or indicator.get("type") != "text"):
        raise invalid("typing_indicator.type must be 'text'.")
    return Outgoing(message_type="read", message_id=message_id)


def _message(body: Mapping[str, Any]) -> Outgoing:
    message_type = body.get("type", "text")  # Meta's default
    if not isinstance(message_type, str) or message_type not in MESSAGE_TYPES:
        raise invalid(f"type: {str(message_type)[:40]!r} is not a supported message type.")
    _no_unknown(body, _MESSAGE_KEYS | {message_type})

    recipient_type = body.get("recipient_type", "individual")
    if recipient_type not in ("individual", "group"):
        raise CloudApiError(100, "Param recipient_type must be one of {INDIVIDUAL, GROUP}.")
    group = recipient_type == "group"
    user_id = None
    if body.get("to") is None and body.get("recipient") is not None and not group:
        to = user_id = _bsuid(body["recipient"])
        wa_id = ""
    else:
        to = _required_str(body, "to", "to")
        wa_id = to if group else _wa_id(to)

    content = body.get(message_type)
    if content is None:
        raise missing(message_type)
    template = _CHECKS[message_type](content)
    media_ids: tuple[str, ...] = ()
    if template is not None:
        media_ids = template.media_ids
    elif message_type in MEDIA_TYPES and content.get("id") is not None:
        media_ids = (str(content["id"]),)

    reply_to = None
    context = body.get("context")
    if context is not None:
        if message_type == "reaction":
            raise invalid("A reaction cannot be a contextual reply.")
        if not isinstance(context, dict):
            raise invalid("context must be an object.")
        reply_to = _required_str(context, "message_id", "context.message_id")

    callback = body.get("biz_opaque_callback_data")
    if callback is not None and (not isinstance(callback, str)
                                 or len(callback) > CALLBACK_DATA_LIMIT):
        raise invalid(f"biz_opaque_callback_data must be a string of at most "
                      f"{CALLBACK_DATA_LIMIT} characters.")
    return Outgoing(message_type=message_type, to=to, wa_id=wa_id, user_id=user_id,
                    media_ids=media_ids, template=template, reply_to=reply_to,
                    callback_data=callback, group=group)


def _bsuid(recipient: Any) -> str:
    if not isinstance(recipient, str) or not BSUID.fullmatch(recipient):
        raise invalid(f"recipient: {str(recipient)[:60]!r} is not a valid business-scoped "
                      "user ID.")
    return recipient


def _wa_id(to: str) -> str:
    text = to.strip()
    digits = text[1:] if text.startswith("+") else text
    digits = digits.replace(" ", "").replace("-", "")
    if not digits.isdigit() or not 8 <= len(digits) <= 15:
        raise invalid(f"to: {to[:40]!r} is not a valid WhatsApp user phone number.")
    return digits


def _text(content: Any) -> None:
    obj = _object(content, "text")
    text = _required_str(obj, "body", "text.body")
    if len(text) > TEXT_LIMIT:
        raise CloudApiError(100, f"Param text['body'] must be at most {TEXT_LIMIT} characters "
                            "long.")
    preview = obj.get("preview_url")
    if preview is not None and not isinstance(preview, bool):
        raise invalid("text.preview_url must be a boolean.")


def _media(kind: str) -> Callable[[Any], None]:
    def check(content: Any) -> None:
        obj = _object(content, kind)
        has_id, has_link = obj.get("id") is not None, obj.get("link") is not None
        if not (has_id or has_link):
            raise missing(f"{kind}.id or {kind}.link")
        if has_id and has_link:
            raise invalid(f"{kind}: give either id or link, not both.")
        if has_id and not isinstance(obj["id"], str | int):
            raise invalid(f"{kind}.id must be a media id.")
        if has_link:
            link = obj["link"]
            if not isinstance(link, str) or not link.startswith(("http://", "https://")):
                raise invalid(f"{kind}.link must be an http(s) URL.")
        caption = obj.get("caption")
        if caption is not None:
            if kind in ("audio", "sticker"):
                raise invalid(f"{kind} messages do not support a caption.")
            if not isinstance(caption, str) or len(caption) > CAPTION_LIMIT:
                raise invalid(f"{kind}.caption must be text of at most {CAPTION_LIMIT} "
                              "characters.")
        if obj.get("filename") is not None and kind != "document":
            raise CloudApiError(100, f"Param {kind}['filename'] is not a valid parameter.")
    return check


def _reaction(content: Any) -> None:
    obj = _object(content, "reaction")
    _required_str(obj, "message_id", "reaction.message_id")
    emoji = obj.get("emoji")
    if emoji is not None and not isinstance(emoji, str):
        raise invalid("reaction.emoji must be a string (empty to remove the reaction).")


def _location(content: Any) -> None:
    obj = _object(content, "location")
    for key, limit in (("latitude", 90), ("longitude", 180)):
        value = obj.get(key)
        if value is None:
            raise missing(f"location.{key}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise invalid(f"location.{key} must be a number.") from None
        if not -limit <= number <= limit:
            raise invalid(f"location.{key} is out of range.")


def _contacts(content: Any) -> None:
    if not isinstance(content, list) or not content:
        raise invalid("contacts must be a non-empty list.")
    for contact in content:
        if not isinstance(contact, dict):
            raise invalid("contacts[] must be objects.")
        name = contact.get("name")
        if not isinstance(name, dict) or not name.get("formatted_name"):
            raise missing("contacts[].name.formatted_name")


def _interactive(content: Any) -> None:
    obj = _object(content, "interactive")
    kind = _required_str(obj, "type", "interactive.type")
    if kind not in INTERACTIVE_TYPES:
        raise invalid(f"interactive.type {kind[:40]!r} is not supported.")
    action = obj.get("action")
    if kind != "location_request_message" and not isinstance(action, dict):
        raise missing("interactive.action")
    if kind in ("button", "list", "cta_url"):
        body = obj.get("body")
        if not isinstance(body, dict) or not body.get("text"):
            raise missing("interactive.body.text")
    if kind == "button":
        assert isinstance(action, dict)
        buttons = action.get("buttons")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            raise invalid("interactive.action.buttons must hold 1 to 3 buttons.")
        for button in buttons:
            reply = button.get("reply") if isinstance(button, dict) else None
            if not isinstance(reply, dict) or not reply.get("id") or not reply.get("title"):
                raise missing("interactive.action.buttons[].reply.id and title")
            if len(str(reply["title"])) > 20:
                raise invalid("A reply button title must be at most 20 characters.")
    elif kind == "list":
        assert isinstance(action, dict)
        label = action.get("button")
        if not isinstance(label, str) or not label:
            raise missing("interactive.action.button")
        if len(label) > 20:
            raise invalid("interactive.action.button must be at most 20 characters.")
        sections = action.get("sections")
        if not isinstance(sections, list) or not 1 <= len(sections) <= 10:
            raise invalid("interactive.action.sections must hold 1 to 10 sections.")
    elif kind == "cta_url":
        assert isinstance(action, dict)
        params = action.get("parameters")
        if not isinstance(params, dict) or not params.get("url") \
                or not params.get("display_text"):
            raise missing("interactive.action.parameters.url and display_text")


def _template(content: Any) -> TemplateRef:
    obj = _object(content, "template")
    name = _required_str(obj, "name", "template.name")
    language = obj.get("language")
    if not isinstance(language, dict):
        raise missing("template.language")
    code = _required_str(language, "code", "template.language.code")
    components = obj.get("components", [])
    if not isinstance(components, list):
        raise invalid("template.components must be a list.")
    body_parameters = 0
    media_ids: list[str] = []
    for component in components:
        if not isinstance(component, dict) or not isinstance(component.get("type"), str):
            raise missing("template.components[].type")
        params = component.get("parameters", [])
        if not isinstance(params, list):
            raise invalid("template.components[].parameters must be a list.")
        for param in params:
            if not isinstance(param, dict) or not isinstance(param.get("type"), str):
                raise missing("template.components[].parameters[].type")
            if param["type"] == "text" and not isinstance(param.get("text"), str):
                raise missing("template.components[].parameters[].text")
            media = param.get(param["type"]) if param["type"] in _HEADER_MEDIA else None
            if isinstance(media, dict) and media.get("id") is not None:
                media_ids.append(str(media["id"]))
        if component["type"].lower() == "body":
            body_parameters += len(params)
    return TemplateRef(name=name, language=code, body_parameters=body_parameters,
                       media_ids=tuple(media_ids))


def _object(content: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(content, dict):
        raise invalid(f"{name} must be an object.")
    return content


def _required_str(obj: Mapping[str, Any], key: str, label: str) -> str:
    value = obj.get(key)
    if value is None or value == "":
        raise missing(label)
    if not isinstance(value, str):
        raise invalid(f"{label} must be a string.")
    return value


def _no_unknown(body: Mapping[str, Any], known: frozenset[str]) -> None:
    if not body.keys() <= known:
        raise unknown_param(sorted(k for k in body if k not in known)[0])


_CHECKS: dict[str, Callable[[Any], TemplateRef | None]] = {
    "text": _text,
    "template": _template,
    "reaction": _reaction,
    "location": _location,
    "contacts": _contacts,
    "interactive": _interactive,
    **{kind: _media(kind) for kind in MEDIA_TYPES},
}
