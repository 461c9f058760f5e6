"""Customer phone numbers: one canonical form per person, and the conversation id built from it.

WhatsApp ids (``wa_id``) are digits with the country code and no ``+``. Some countries have two
spellings of one mobile number that WhatsApp may report either way:

- Brazil (55): mobiles gained a 9th digit; older accounts still report ``55 DD 8 digits``.
  Canonical: with the 9 (``55 DD 9 XXXX XXXX``).
- Mexico (52): mobiles used to carry a ``1`` after the country code (``521``). Canonical: without.
- Argentina (54): mobiles are dialled internationally with a ``9`` after the country code
  (``549``); WhatsApp reports that form, and some sources give it without the 9. Canonical: with.
"""

from __future__ import annotations

import phonenumbers


class InvalidPhoneNumber(ValueError):
    """Not a phone number we can address on WhatsApp."""


def digits_of(raw: str) -> str:
    """Keep the digits of a number as people write it (``+55 (11) 9 8765-4321``)."""
    digits = "".join(ch for ch in raw if ch.isdigit())
    if raw.strip().startswith("00"):
        digits = digits[2:]
    if not 8 <= len(digits) <= 15:
        raise InvalidPhoneNumber(f"{raw!r} is not an international phone number (8 to 15 digits)")
    return digits


def canonical_wa_id(raw: str) -> str:
    """The one spelling of a customer's number used in conversation ids."""
    digits = digits_of(raw)
    # Brazil: 55 + 2-digit area + 8-digit mobile (starting 6-9) -> insert the 9th digit.
    if digits.startswith("55") and len(digits) == 12 and digits[4] in "6789":
        return digits[:4] + "9" + digits[4:]
    # Mexico: 521 + 10 digits -> 52 + 10 digits.
    if digits.startswith("521") and len(digits) == 13:
        return "52" + digits[3:]
    # Argentina: 54 + 10-digit national mobile without the 9 is ambiguous with landlines; only the
    # 549 form is a mobile, so it is kept as reported (no rewrite).
    return digits


def conversation_id(business_phone_number_id: str, customer_wa_id: str) -> str:
    """``{business phone_number_id}:{canonical customer wa_id}``: also the Kafka record key."""
    return f"{business_phone_number_id}:{canonical_wa_id(customer_wa_id)}"


def split_conversation_id(value: str) -> tuple[str, str]:
    """The business phone_number_id and the canonical customer number of a conversation id."""
    number_id, sep, customer = value.partition(":")
    if not sep or not number_id or not customer:
        raise ValueError(f"{value!r} is not a conversation id (phone_number_id:wa_id)")
    return number_id, customer


def display_number(wa_id: str | None) -> str | None:
    """A WhatsApp id (country code and number, digits) in international format:
    "34612345678" -> "+34 612 34 56 78". A number the library cannot place is shown as
    "+" and its digits; None for no number."""
    if not wa_id:
        return None
    digits = "".join(ch for ch in wa_id if ch.isdigit())
    if not digits:
        return None
    if digits.startswith("521") and len(digits) == 13:
        # Mexico's mobile prefix, still in many WhatsApp ids: shown, not dropped.
        mexican = display_number(f"52{digits[3:]}")
        if mexican and mexican.startswith("+52 "):
            return f"+52 1 {mexican[4:]}"
    try:
        parsed = phonenumbers.parse(f"+{digits}", None)
    except phonenumbers.NumberParseException:
        return f"+{digits}"
    if not phonenumbers.is_possible_number(parsed):
        return f"+{digits}"
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
