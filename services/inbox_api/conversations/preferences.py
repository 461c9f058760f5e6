"""A customer's marketing opt-out as the inbox shows it (the marker on a conversation) and
pre-checks it (a MARKETING template to them is refused, as the sender would). Pure.

The opt-out is read from ``opt_outs`` (conversation_store's) by the ``_id`` the sender checks
(``shared/marketing.py``: the customer's number, else their BSUID), so the marker, the
pre-check and the sender agree. docs/campaigns.md, "Opt-outs".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from services.inbox_api.conversations.schemas import MarketingOptOut
from shared.marketing import customer_opt_out_id

Doc = Mapping[str, Any]


def opt_out_id_of(tenant_id: str, conversation: Doc) -> str | None:
    """The ``opt_outs`` ``_id`` a marketing send to this conversation's customer is checked
    against (None: the conversation names no customer yet)."""
    return customer_opt_out_id(tenant_id, str(conversation.get("business_phone_number_id") or ""),
                               conversation.get("customer_wa_id") or None,
                               conversation.get("customer_user_id") or None)


def opt_out_ids(tenant_id: str, conversations: Iterable[Doc]) -> dict[str, str]:
    """Conversation id -> its ``opt_outs`` ``_id``, for one ``_id $in`` read of a page."""
    out: dict[str, str] = {}
    for doc in conversations:
        key = opt_out_id_of(tenant_id, doc)
        if key is not None:
            out[str(doc["_id"])] = key
    return out


def is_opted_out(opt_out: Doc | None) -> bool:
    return bool(opt_out and opt_out.get("opted_out"))


def marker(opt_out: Doc | None) -> MarketingOptOut | None:
    """The marker for a stored ``opt_outs`` document: only while the customer is opted out (a
    later START or resume stores ``opted_out: false``)."""
    if not is_opted_out(opt_out):
        return None
    assert opt_out is not None
    at = opt_out.get("at")
    if isinstance(at, datetime) and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    source = opt_out.get("source")
    return MarketingOptOut(source=source if isinstance(source, str) else "unknown",
                           at=at if isinstance(at, datetime) else None,
                           keyword=opt_out.get("keyword") or None)
