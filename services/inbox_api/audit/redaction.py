"""What an audit entry keeps of a request's body, pure: only fields on a whitelist, never a
secret, short values only.

A field is kept when its name is on :data:`KEPT` and nothing in the name says secret
(``password``, ``key``, ``token``, ``secret``): a new field is left out until someone decides it
belongs in the log, which is what keeps a password out of it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

KEPT = frozenset({
    "text", "caption", "body", "name", "colour", "color", "shortcut", "title", "status",
    "assignee_id", "team_id", "label_ids", "agent_ids", "members", "email", "role",
    "display_name", "category", "language", "template", "template_name", "emoji", "filename",
    "kind", "enabled", "at_utc", "at", "timezone", "schedule", "audience", "message_wamid",
    "reply_to", "to", "customer_wa_id", "phone_number", "business_phone_number_id", "reason",
    "all_languages", "active", "available", "mentions",
})
SECRET = re.compile(r"pass|secret|token|key|credential|otp", re.IGNORECASE)
TEXT_MAX = 200
LIST_MAX = 20
DEPTH_MAX = 2


def is_secret(field: str) -> bool:
    return bool(SECRET.search(field))


def _value(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= TEXT_MAX else value[:TEXT_MAX] + "…"
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return summary(value, depth + 1) if depth < DEPTH_MAX else "{…}"
    if isinstance(value, list | tuple):
        kept = [_value(v, depth + 1) for v in value[:LIST_MAX]]
        return [*kept, "…"] if len(value) > LIST_MAX else kept
    return str(value)[:TEXT_MAX]


def summary(body: Any, depth: int = 0) -> dict[str, Any]:
    """The body's whitelisted, non-secret fields (an empty dict for anything but an object)."""
    if not isinstance(body, Mapping):
        return {}
    return {str(k): _value(v, depth) for k, v in body.items()
            if isinstance(k, str) and k in KEPT and not is_secret(k)}
