"""The audit log's keyset cursor, pure: the last entry's ``(at, _id)``, opaque to clients."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime


class BadCursor(ValueError):
    pass


def encode(at: datetime, entry_id: str) -> str:
    raw = json.dumps([at.astimezone(UTC).isoformat(), entry_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, entry_id = json.loads(raw)
        when = datetime.fromisoformat(at)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise BadCursor(cursor) from None
    if not isinstance(entry_id, str) or when.tzinfo is None:
        raise BadCursor(cursor)
    return when, entry_id
