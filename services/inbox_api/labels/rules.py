"""A label's name and colour, pure: what is accepted, and the key that makes names unique."""

from __future__ import annotations

import re

NAME_MAX = 40
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_SPACES = re.compile(r"\s+")


def label_name(value: str) -> str:
    """The name as shown: trimmed, inner runs of spaces made one; 1 to 40 characters."""
    name = _SPACES.sub(" ", value).strip()
    if not name:
        raise ValueError("a label needs a name")
    if len(name) > NAME_MAX:
        raise ValueError(f"a label's name is at most {NAME_MAX} characters")
    return name


def name_key(name: str) -> str:
    """What makes two names the same label: "VIP " and "vip" are one."""
    return label_name(name).casefold()


def colour(value: str) -> str:
    """A colour as ``#rrggbb`` (hex digits, stored lowercase)."""
    if not _COLOUR.match(value.strip()):
        raise ValueError("a colour is #rrggbb, e.g. #1f883d")
    return value.strip().lower()
