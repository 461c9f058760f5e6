"""Who the customer is, as the inbox shows them: a name, an @username, a number in
international format, and a BSUID only when nothing else is known. Pure.

Usernames and BSUIDs are display data here, never keys (/work/shared/whatsapp-cloud-api.md §12:
"profile name, then username, then number").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.phone import display_number

# Shown when neither a name, a username nor a number is known (the BSUID goes in a tooltip).
UNKNOWN_CUSTOMER = "WhatsApp user"


def display_username(username: str | None) -> str | None:
    """"@ana.garcia" for a username (Meta sends it without the "@"); None for none."""
    if not username or not username.strip():
        return None
    name = username.strip()
    return name if name.startswith("@") else f"@{name}"


def display_name(name: str | None, username: str | None, wa_id: str | None) -> str:
    """The one label for a customer: profile name, else @username, else the number, else
    "WhatsApp user" (never the conversation key or the BSUID)."""
    if name and name.strip():
        return name.strip()
    return display_username(username) or display_number(wa_id) or UNKNOWN_CUSTOMER


def customer_fields(doc: Mapping[str, Any]) -> dict[str, str | None]:
    """The customer's identifiers from a stored conversation, old documents included: a
    document written before BSUIDs has a ``customer_wa_id`` and none of the ``customer_user_*``
    fields; a BSUID-keyed one has ``customer_wa_id`` None until a number is known."""
    user_id = _str(doc.get("customer_user_id"))
    if user_id is None:
        seen = doc.get("customer_user_ids")
        if isinstance(seen, list) and seen and isinstance(seen[-1], str):
            user_id = seen[-1]
    wa_id = _str(doc.get("customer_wa_id"))
    return {
        "wa_id": wa_id,
        "user_id": user_id,
        "username": _str(doc.get("customer_username")),
        "name": _str(doc.get("contact_name")),
        "display_number": display_number(wa_id),
        "saved_name": _str(doc.get("app_contact_name")),
    }


def identity_change_text(content: Mapping[str, Any]) -> str | None:
    """The thread's line for an identity change the store recorded (``content`` of a
    ``system`` message with an ``identity_change``), None when it is not one."""
    change = content.get("identity_change")
    if not isinstance(change, Mapping):
        return None
    if change.get("kind") == "number":
        number = display_number(_str(change.get("new_wa_id")))
        return (f"changed their phone number to {number}" if number
                else "changed their phone number")
    if change.get("kind") == "user_id":
        return "changed their WhatsApp account"
    return None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
