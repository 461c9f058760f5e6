"""Opaque keyset cursors: the position of the last item a page showed, base64url JSON.

The list's key is (last_activity_at, _id), newest first; the thread's is the message ``sort_key``.
A cursor that does not decode is a client error (400), never a server one.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime


class BadCursor(ValueError):
    """The cursor was not made by this API (or was mangled)."""


@dataclass(frozen=True, slots=True)
class ListPosition:
    last_activity_at: datetime
    conversation_id: str


def _encode(data: object) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> object:
    if len(cursor) > 2000:
        raise BadCursor("cursor too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise BadCursor("cursor does not decode") from exc


def encode_list_cursor(position: ListPosition) -> str:
    millis = int(position.last_activity_at.timestamp() * 1000)
    return _encode({"t": millis, "id": position.conversation_id})


def decode_list_cursor(cursor: str) -> ListPosition:
    data = _decode(cursor)
    if not isinstance(data, dict):
        raise BadCursor("cursor has the wrong shape")
    millis, conversation_id = data.get("t"), data.get("id")
    if (not isinstance(millis, int) or isinstance(millis, bool) or not isinstance(
            conversation_id, str) or not 0 <= millis < 253402300800000):
        raise BadCursor("cursor has the wrong shape")
    return ListPosition(datetime.fromtimestamp(millis / 1000, UTC), conversation_id)


def encode_thread_cursor(sort_key: str) -> str:
    return _encode({"k": sort_key})


def decode_thread_cursor(cursor: str) -> str:
    data = _decode(cursor)
    key = data.get("k") if isinstance(data, dict) else None
    if not isinstance(key, str) or not key:
        raise BadCursor("cursor has the wrong shape")
    return key
