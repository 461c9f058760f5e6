"""Reading Meta's raw webhook payloads: the envelope check and the small shared value shapes.

Raw payload shapes stay inside webhook_ingest: these helpers feed :mod:`.messages` and
:mod:`.normalize`, which turn them into the contract events of ``shared.events.inbound``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

from services.webhook_ingest.errors import InvalidPayload
from shared.contacts import derived_conversation_id
from shared.events.inbound import MetaError
from shared.phone import InvalidPhoneNumber, conversation_id

WHATSAPP_OBJECT = "whatsapp_business_account"

Raw = dict[str, Any]


def parse_webhook(body: bytes) -> Raw:
    """The decoded payload, or :class:`InvalidPayload` saying what is wrong with it."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidPayload(f"body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise InvalidPayload("body is not a JSON object")
    if payload.get("object") != WHATSAPP_OBJECT:
        raise InvalidPayload(
            f"object is {str(payload.get('object'))[:60]!r}, expected {WHATSAPP_OBJECT!r}"
        )
    if not isinstance(payload.get("entry"), list):
        raise InvalidPayload("entry is missing or not a list")
    return payload


def first_waba_id(payload: Mapping[str, Any]) -> str | None:
    """The WhatsApp Business Account id of the first entry (the raw record's key)."""
    entries = payload.get("entry")
    if isinstance(entries, list) and entries and isinstance(entries[0], dict):
        waba = entries[0].get("id")
        if waba is not None:
            return str(waba)
    return None


def epoch(value: Any) -> datetime:
    """Meta's Unix time (seconds, usually as a string) as an aware UTC datetime."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"timestamp {value!r} is not a Unix time")
    return datetime.fromtimestamp(float(value), UTC)


def leftovers(obj: Mapping[str, Any], known: Iterable[str]) -> Raw:
    """The keys of ``obj`` a parser does not know: kept so that no field is lost."""
    known_keys = known if isinstance(known, frozenset | set) else frozenset(known)
    if obj.keys() <= known_keys:  # the usual case, checked in C
        return {}
    return {k: v for k, v in obj.items() if k not in known_keys}


_ERROR_KEYS = frozenset({"code", "title", "message", "href", "error_data"})


def meta_errors(raw: Any) -> tuple[list[MetaError], bool]:
    """Meta's ``errors[]`` as :class:`MetaError` values, and whether that kept every field.

    When it did not (a key we do not map, a code that is not a number), the caller keeps the raw
    list in its ``extra`` as well.
    """
    if raw is None:
        return [], True
    if not isinstance(raw, list):
        return [], False
    errors: list[MetaError] = []
    complete = True
    for item in raw:
        if not isinstance(item, dict):
            complete = False
            continue
        data = item.get("error_data")
        details = data.get("details") if isinstance(data, dict) else None
        if (
            not item.keys() <= _ERROR_KEYS
            or (data is not None and (not isinstance(data, dict) or set(data) - {"details"}))
        ):
            complete = False
        try:
            code = int(item["code"])
        except (KeyError, TypeError, ValueError):
            complete = False
            continue
        errors.append(
            MetaError(
                code=code,
                title=_text(item.get("title")),
                message=_text(item.get("message")),
                details=_text(details),
                href=_text(item.get("href")),
            )
        )
    return errors, complete


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


class NoCustomerIdentity(ValueError):
    """A message, status or other customer event that names the customer by neither a number nor
    a BSUID."""


def required_text(raw: Mapping[str, Any], key: str) -> str:
    """``raw[key]`` as text; ``ValueError`` when it is absent, empty or not a scalar."""
    value = raw.get(key)
    if value is None or value == "" or isinstance(value, dict | list):
        raise ValueError(f"no usable {key!r}")
    return str(value)


def optional_text(raw: Mapping[str, Any], key: str) -> str | None:
    """``raw[key]`` as text, None when absent; ``ValueError`` when it is an object or a list."""
    value = raw.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, dict | list):
        raise ValueError(f"no usable {key!r}")
    return str(value)


def customer_conversation_id(pnid: str, wa_id: str | None, user_id: str | None) -> str:
    """The derived conversation id of a customer event (the contact directory replaces it)."""
    if wa_id is not None:
        return customer_conversation(pnid, wa_id)
    return derived_conversation_id(pnid, None, user_id)


@lru_cache(maxsize=65_536)
def customer_conversation(phone_number_id: str, customer: str) -> str:
    """The conversation id; an id that is not a phone number (a group, a username) is kept as is.

    Cached: customers write many times, and canonicalizing the number is on the hot path.
    """
    try:
        return conversation_id(phone_number_id, customer)
    except InvalidPhoneNumber:
        return f"{phone_number_id}:{customer}"


_METADATA_KEYS = frozenset({"phone_number_id", "display_phone_number"})


@dataclass(frozen=True, slots=True)
class Metadata:
    """``value.metadata``: the business number a ``messages`` change is about."""

    phone_number_id: str
    display_phone_number: str | None
    extra: Raw = field(default_factory=dict)

    @classmethod
    def of(cls, value: Mapping[str, Any]) -> Metadata:
        meta = value.get("metadata")
        if not isinstance(meta, dict) or meta.get("phone_number_id") in (None, ""):
            raise ValueError("metadata.phone_number_id is missing")
        display = meta.get("display_phone_number")
        return cls(
            phone_number_id=str(meta["phone_number_id"]),
            display_phone_number=None if display is None else str(display),
            extra=leftovers(meta, _METADATA_KEYS),
        )

    def kept(self) -> Raw:
        """What an event with no display-number field keeps of the metadata (in its ``extra``):
        the display number and any key this parser does not know."""
        rest = dict(self.extra)
        if self.display_phone_number is not None:
            rest["display_phone_number"] = self.display_phone_number
        return rest
