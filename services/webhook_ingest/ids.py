"""Deterministic event ids: the same webhook (a Meta retry, a replay) yields the same ids.

Consumers deduplicate on ``event_id``. Messages and statuses are named by Meta's own identity
(wamid, wamid + status), so the same message reaching us in two different request bodies still
gets one id; everything else is named by its content.
"""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID

import orjson

# Fixed forever: changing it would give every replayed event a new id.
NAMESPACE = UUID("6f1d0c52-6a0e-5b57-9d0a-3d1f5b0e8a41")


def named_id(kind: str, *parts: str, salt: str = "") -> UUID:
    """The id of the ``kind`` event identified by ``parts`` (e.g. a wamid and a status)."""
    return _uuid5("|".join((salt, kind, *parts)))


def content_id(kind: str, *context: str, value: Any, salt: str = "") -> UUID:
    """The id of an event identified only by its content (template updates, unknown fields)."""
    canonical = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    return _uuid5("|".join((salt, kind, *context, canonical)))


_NAMESPACE_BYTES = NAMESPACE.bytes


def _uuid5(name: str) -> UUID:
    """``uuid.uuid5(NAMESPACE, name)``, without its per-call overhead (it is on the hot path)."""
    digest = hashlib.sha1(_NAMESPACE_BYTES + name.encode(), usedforsecurity=False).digest()
    return UUID(bytes=digest[:16], version=5)
