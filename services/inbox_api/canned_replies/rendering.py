"""A canned reply's text filled from the contact, pure.

Variables are ``{{contact.name}}``, ``{{contact.first_name}}`` and ``{{contact.phone}}`` (spaces
inside the braces allowed). A variable the contact has no value for becomes empty and is named in
``missing``, so the composer can say what to fill in by hand; the text stays editable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")
VARIABLES = ("contact.name", "contact.first_name", "contact.phone")


@dataclass(frozen=True, slots=True)
class Contact:
    """What a reply can say about the customer."""

    name: str | None = None
    phone: str | None = None

    @property
    def first_name(self) -> str | None:
        words = (self.name or "").split()
        return words[0] if words else None


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    missing: tuple[str, ...] = ()


def variables_in(text: str) -> list[str]:
    """The variables a text names, in order of first use."""
    return list(dict.fromkeys(m.group(1) for m in VARIABLE.finditer(text)))


def unknown_variables(text: str) -> list[str]:
    return [v for v in variables_in(text) if v not in VARIABLES]


def contact_of(name: str | None, wa_id: str | None) -> Contact:
    """The contact from a conversation's stored name and number (``+`` and the digits)."""
    phone = f"+{wa_id}" if wa_id and wa_id.isdigit() else None
    return Contact(name=(name or "").strip() or None, phone=phone)


def render(text: str, contact: Contact) -> Rendered:
    values = {"contact.name": contact.name, "contact.first_name": contact.first_name,
              "contact.phone": contact.phone}
    missing: dict[str, None] = {}

    def fill(match: re.Match[str]) -> str:
        variable = match.group(1)
        if variable not in values:
            return match.group(0)  # not ours: left as written
        value = values[variable]
        if value is None:
            missing[variable] = None
            return ""
        return value

    return Rendered(VARIABLE.sub(fill, text), tuple(missing))
