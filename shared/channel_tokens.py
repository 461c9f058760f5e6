"""Channels' Meta access tokens sealed at rest: Fernet (AES-128-CBC + HMAC-SHA256), keyed from
the environment, with rotation.

``CHANNEL_TOKEN_KEYS`` holds comma-separated Fernet keys (``Fernet.generate_key()``): the first
seals, every one opens. Rotation: put a new key first (keep the old ones after it), roll the
services, run ``python -m services.inbox_api.admin reencrypt-tokens``, then drop the old key.
A stored token carries the ``fernet:`` prefix; a document written before sealing existed
(plaintext) still opens and is sealed by ``reencrypt-tokens``. Without keys a fixed development
key is used, with a warning: never in production (docs/security.md).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

log = logging.getLogger(__name__)

SEALED_PREFIX = "fernet:"
# Development only: lets a laptop run without configuring a key. Logged as a warning when used.
DEVELOPMENT_KEY = "ZGV2ZWxvcG1lbnQtb25seS1jaGFubmVsLXRva2VuLWs="


class TokenKeyError(ValueError):
    """A stored token cannot be opened with the configured keys (or a key is malformed)."""


class TokenBox:
    """Seals and opens access tokens with the first of its keys / any of its keys."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise TokenKeyError("CHANNEL_TOKEN_KEYS: at least one key is needed")
        try:
            self._fernets = [Fernet(k.strip().encode()) for k in keys]
        except (ValueError, TypeError) as exc:
            raise TokenKeyError(
                "CHANNEL_TOKEN_KEYS: every key must be a urlsafe base64 32-byte Fernet key"
            ) from exc
        self._box = MultiFernet(self._fernets)

    def seal(self, token: str) -> str:
        """The stored form of ``token`` (an empty token stays empty: nothing to hide)."""
        if not token:
            return ""
        return SEALED_PREFIX + self._box.encrypt(token.encode()).decode()

    def open(self, stored: str) -> str:
        """The token from its stored form; legacy plaintext is returned as is."""
        if not is_sealed(stored):
            return stored
        try:
            return self._box.decrypt(stored[len(SEALED_PREFIX):].encode()).decode()
        except InvalidToken:
            raise TokenKeyError(
                "a channel's access token was sealed with a key not in CHANNEL_TOKEN_KEYS"
            ) from None

    def needs_reseal(self, stored: str) -> bool:
        """True when ``stored`` is plaintext or not sealed with the first (current) key."""
        if not stored:
            return False
        if not is_sealed(stored):
            return True
        try:
            self._fernets[0].decrypt(stored[len(SEALED_PREFIX):].encode())
        except InvalidToken:
            return True
        return False


def is_sealed(stored: str) -> bool:
    return stored.startswith(SEALED_PREFIX)


def token_box(keys: SecretStr) -> TokenBox:
    """The box for ``CHANNEL_TOKEN_KEYS`` (``ServiceSettings.channel_token_keys``)."""
    listed = [k for k in keys.get_secret_value().split(",") if k.strip()]
    if not listed:
        log.warning("CHANNEL_TOKEN_KEYS is not set: channel tokens are sealed with the "
                    "development key; set real keys outside development (docs/security.md)")
        listed = [DEVELOPMENT_KEY]
    return TokenBox(listed)
