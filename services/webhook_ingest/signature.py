"""Meta's ``X-Hub-Signature-256``: HMAC-SHA256 of the raw body, keyed with the app secret."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

PREFIX = "sha256="


def sign(body: bytes, secret: bytes) -> str:
    """The header value Meta would send for ``body``."""
    return PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


class Verifier:
    """:func:`is_valid` with each secret's HMAC key schedule prepared once (hot path)."""

    def __init__(self, secrets: Iterable[bytes]) -> None:
        self._keyed = [hmac.new(secret, digestmod=hashlib.sha256) for secret in secrets]

    def __call__(self, body: bytes, header: str | None) -> bool:
        given = _digest_of(header)
        if given is None:
            return False
        matched = False
        for keyed in self._keyed:
            mac = keyed.copy()
            mac.update(body)
            matched |= hmac.compare_digest(mac.digest(), given)
        return matched


def _digest_of(header: str | None) -> bytes | None:
    if not header or not header.startswith(PREFIX):
        return None
    try:
        given = bytes.fromhex(header[len(PREFIX):])
    except ValueError:
        return None
    return given if len(given) == hashlib.sha256().digest_size else None


def is_valid(body: bytes, header: str | None, secrets: Iterable[bytes]) -> bool:
    """True when ``header`` is ``sha256=<hex>`` of ``body`` under one of ``secrets``.

    Several secrets allow rotating the app secret without refusing webhooks signed with the old
    one. Every secret is tried (no early exit) and compared in constant time.
    """
    given = _digest_of(header)
    if given is None:
        return False
    matched = False
    for secret in secrets:
        matched |= hmac.compare_digest(hmac.digest(secret, body, "sha256"), given)
    return matched
