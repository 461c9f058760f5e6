"""Meta's webhook payloads and signature, as the sandbox posts them. Pure: no I/O.

Shapes follow the Cloud API reference: ``{"object": "whatsapp_business_account", "entry": [{"id":
<WABA id>, "changes": [{"field": "messages", "value": {"messaging_product", "metadata", ...}}]}]}``
with ``statuses[]`` for outbound messages and ``contacts[]`` + ``messages[]`` for inbound ones.
Several statuses (of several numbers) go in one POST, as Meta batches too: one entry per account,
one change per number.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Any

from sandbox.errors import ERROR_TABLE
from shared.channels import Channel

SIGNATURE_HEADER = "X-Hub-Signature-256"
ERROR_HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"

Raw = dict[str, Any]


def sign(body: bytes, secret: bytes) -> str:
    """The ``X-Hub-Signature-256`` value: HMAC-SHA256 of the raw body, keyed with the app secret."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def metadata(channel: Channel) -> Raw:
    return {"display_phone_number": channel.display_phone_number or channel.phone_number_id,
            "phone_number_id": channel.phone_number_id}


def status_item(
    wamid: str,
    status: str,
    timestamp: int,
    recipient_id: str,
    *,
    pricing: Mapping[str, Any] | None = None,
    error_code: int | None = None,
    callback_data: str | None = None,
) -> Raw:
    """One ``statuses[]`` element."""
    item: Raw = {"id": wamid, "status": status, "timestamp": str(timestamp),
                 "recipient_id": recipient_id}
    if callback_data is not None:
        item["biz_opaque_callback_data"] = callback_data
    if pricing is not None:
        item["pricing"] = dict(pricing)
    if error_code is not None:
        item["errors"] = [error_object(error_code)]
    return item


def error_object(code: int) -> Raw:
    title = ERROR_TABLE.get(code, ("Unknown error", 400, ""))[0]
    return {"code": code, "title": title, "message": title,
            "error_data": {"details": f"Sandbox: message failed with error {code}."},
            "href": ERROR_HREF}


def pricing(template_category: str | None) -> Raw:
    """Per-message pricing: templates are billed by category, replies in the window are free."""
    if template_category is None:
        return {"billable": False, "pricing_model": "PMP", "type": "free_customer_service",
                "category": "service"}
    return {"billable": True, "pricing_model": "PMP", "type": "regular",
            "category": template_category.lower()}


def statuses_payload(batch: Iterable[tuple[Channel, Raw]]) -> Raw:
    """One webhook body for statuses of any numbers: grouped by account, then by number."""
    entries: dict[str, dict[str, tuple[Channel, list[Raw]]]] = {}
    for channel, item in batch:
        numbers = entries.setdefault(channel.waba_id, {})
        numbers.setdefault(channel.phone_number_id, (channel, []))[1].append(item)
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": waba_id, "changes": [
                {"field": "messages", "value": {"messaging_product": "whatsapp",
                                                "metadata": metadata(channel),
                                                "statuses": items}}
                for channel, items in numbers.values()
            ]}
            for waba_id, numbers in entries.items()
        ],
    }


def message_payload(channel: Channel, message: Raw, profile_name: str | None) -> Raw:
    """The webhook body of one inbound customer message (system messages carry no contacts)."""
    value: Raw = {"messaging_product": "whatsapp", "metadata": metadata(channel)}
    if message.get("type") != "system":
        contact: Raw = {"wa_id": message["from"]}
        if profile_name is not None:
            contact = {"profile": {"name": profile_name}, "wa_id": message["from"]}
        value["contacts"] = [contact]
    value["messages"] = [message]
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": channel.waba_id,
                   "changes": [{"field": "messages", "value": value}]}],
    }
