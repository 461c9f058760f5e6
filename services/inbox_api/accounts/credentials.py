"""Credentials, pure: API key format, hashing, and who a credential says the caller is.

Keys look like ``wai_<43 url-safe chars>`` (32 random bytes). Only their SHA-256 is stored, so a
leaked database holds no usable key; the digest is also the lookup key, which keeps comparison
exact. Session tokens (the browser cookie), invitation and sign-in link tokens follow the same
rule.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

KEY_PREFIX = "wai_"
_KEY_SHAPE = re.compile(r"^wai_[A-Za-z0-9_-]{43}$")
_BEARER = re.compile(r"^\s*Bearer\s+(\S+)\s*$", re.IGNORECASE)

Kind = Literal["agent", "service"]
# What the caller may do: admins also manage templates, campaigns, channels, keys and people.
Role = Literal["admin", "agent"]
ROLES: tuple[Role, ...] = ("admin", "agent")


@dataclass(frozen=True, slots=True)
class Identity:
    """The caller: one tenant, one agent (or service) identity."""

    tenant_id: str
    agent_id: str
    display_name: str
    kind: Kind
    # The key's digest; "" for a session signed in with email and password.
    key_hash: str
    role: Role = "agent"


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def new_invite_token() -> str:
    return secrets.token_urlsafe(32)


def new_link_token() -> str:
    return secrets.token_urlsafe(32)


def role_of_key(doc: Mapping[str, Any]) -> Role:
    """A key's role: as stored; a key from before roles existed (none stored) keeps what every
    key could do then (admin) if it is an agent's, and a service key without one is an agent."""
    role = doc.get("role")
    if role in ROLES:
        return "admin" if role == "admin" else "agent"
    return "agent" if doc.get("kind") == "service" else "admin"


def looks_like_key(value: str) -> bool:
    return bool(_KEY_SHAPE.match(value))


def digest(secret: str) -> str:
    """The stored form of a key or session token (hex SHA-256)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same_digest(stored: str, presented: str) -> bool:
    """Constant-time comparison of a stored digest with the digest of what was presented."""
    return hmac.compare_digest(stored.encode(), digest(presented).encode())


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    if not authorization:
        return None
    match = _BEARER.match(authorization)
    return match.group(1) if match else None
