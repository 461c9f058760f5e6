"""A canned reply's shortcut, pure: a slug the composer matches after ``/``."""

from __future__ import annotations

import re

SHORTCUT_MAX = 32
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def shortcut(value: str) -> str:
    """Lowercase letters, digits, ``-`` and ``_``, starting with a letter or digit; a leading
    ``/`` is dropped ("/Hello" is ``hello``)."""
    slug = value.strip().removeprefix("/").lower()
    if not slug:
        raise ValueError("a shortcut is needed, e.g. hello")
    if len(slug) > SHORTCUT_MAX:
        raise ValueError(f"a shortcut is at most {SHORTCUT_MAX} characters")
    if not _SLUG.match(slug):
        raise ValueError("a shortcut is letters, digits, - and _ (e.g. opening-hours)")
    return slug
