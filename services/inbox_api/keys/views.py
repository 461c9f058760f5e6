"""Stored key documents -> the keys' JSON shapes, and a key's public id. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from services.inbox_api.accounts.credentials import role_of_key
from services.inbox_api.keys.schemas import KeyOut

ID_PREFIX = "key_"
# A key's id is the start of its digest: 64 bits name it within a tenant, and the digest itself
# (the lookup key of authentication) stays inside the database.
ID_HEX = 16


def key_id(key_hash: str) -> str:
    return ID_PREFIX + key_hash[:ID_HEX]


def digest_prefix(public_id: str) -> str | None:
    """The digest's start a key id names, or None when it is not a key id's shape."""
    hex_part = public_id.removeprefix(ID_PREFIX)
    if (not public_id.startswith(ID_PREFIX) or len(hex_part) != ID_HEX
            or any(c not in "0123456789abcdef" for c in hex_part)):
        return None
    return hex_part


def key_view(doc: Mapping[str, Any]) -> KeyOut:
    created = doc.get("created_at")
    if isinstance(created, datetime) and created.tzinfo is None:
        created = created.replace(tzinfo=UTC)  # BSON dates come back naive
    return KeyOut(id=key_id(str(doc["_id"])), prefix=_str(doc.get("prefix")),
                  name=_str(doc.get("display_name")) or str(doc.get("agent_id", "")),
                  kind="service" if doc.get("kind") == "service" else "agent",
                  agent_id=str(doc.get("agent_id", "")), role=role_of_key(doc),
                  created_at=created if isinstance(created, datetime) else None)


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
