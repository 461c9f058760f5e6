"""Meta's webhook payloads and signature, as the sandbox posts them. Pure: no I/O.

Shapes follow the Cloud API reference (2026, with business-scoped user ids, see
:mod:`sandbox.identity`): ``{"object": "whatsapp_business_account", "entry": [{"id": <WABA id>,
"changes": [{"field": "messages", "value": {"messaging_product", "metadata", ...}}]}]}``.

- Inbound messages: ``contacts[]{profile{name, username?}, wa_id, user_id}`` and
  ``messages[]{from, from_user_id, id, timestamp, type, <type>}``; system messages carry no
  contacts, and their ``system`` object gets the new number (``wa_id``) and the new BSUID
  (``user_id``).
- Statuses: ``statuses[]{id, status, timestamp, recipient_id, recipient_user_id, pricing?,
  conversation?, biz_opaque_callback_data?, errors?}``. ``sent``, ``delivered`` and ``read`` come
  with ``contacts[]`` (the recipients; ``username`` on delivered and read only); ``failed`` comes
  without, and without ``recipient_user_id`` (the send named a phone number), as Meta's.

Several statuses (of several numbers) go in one POST, as Meta batches too: one entry per account,
and per number one change for each contacts shape (sent; delivered or read; failed), so that a
change's ``contacts[0]`` is its first status's recipient.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Any

from sandbox.errors import ERROR_TABLE
from sandbox.identity import Customer, CustomerBook, user_id_or_none
from shared.channels import Channel

SIGNATURE_HEADER = "X-Hub-Signature-256"
ERROR_HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
# Statuses whose contacts[] carry the username (Meta leaves it out of ``sent``).
SEEN = frozenset({"delivered", "read", "played"})

Raw = dict[str, Any]


def sign(body: bytes, secret: bytes) -> str:
    """The ``X-Hub-Signature-256`` value: HMAC-SHA256 of the raw body, keyed with the app secret."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def metadata(channel: Channel) -> Raw:
    return {"display_phone_number": channel.display_phone_number or channel.phone_number_id,
            "phone_number_id": channel.phone_number_id}


def envelope(waba_id: str, field: str, value: Mapping[str, Any],
             time: int | None = None) -> Raw:
    """One change of one account: ``{object, entry: [{id, time?, changes: [{field, value}]}]}``.

    ``time`` (``entry[].time``, Unix seconds) is what Meta adds to account-level fields
    (templates, account updates); number-level fields (messages, calls, ...) go without it.
    """
    entry: Raw = {"id": waba_id}
    if time is not None:
        entry["time"] = time
    entry["changes"] = [{"field": field, "value": dict(value)}]
    return {"object": "whatsapp_business_account", "entry": [entry]}


def number_value(channel: Channel, **items: Any) -> Raw:
    """A number-level change's ``value``: ``{messaging_product, metadata, **items}``."""
    return {"messaging_product": "whatsapp", "metadata": metadata(channel), **items}


def status_item(
    wamid: str,
    status: str,
    timestamp: int,
    recipient_id: str,
    *,
    pricing: Mapping[str, Any] | None = None,
    error_code: int | None = None,
    callback_data: str | None = None,
    recipient_user_id: str | None = None,
    conversation: Mapping[str, Any] | None = None,
    error_details: str | None = None,
) -> Raw:
    """One ``statuses[]`` element.

    ``recipient_user_id``: give it when the send named the customer by BSUID (``recipient``);
    otherwise the dispatcher fills it in for sent, delivered and read, and a failed status goes
    without it, as Meta's. ``conversation``: see :func:`conversation_object`.
    """
    item: Raw = {"id": wamid, "status": status, "timestamp": str(timestamp)}
    if recipient_id:  # "": a customer whose number Meta hides (addressed by BSUID)
        item["recipient_id"] = recipient_id
    if recipient_user_id is not None:
        item["recipient_user_id"] = recipient_user_id
    if callback_data is not None:
        item["biz_opaque_callback_data"] = callback_data
    if conversation is not None:
        item["conversation"] = dict(conversation)
    if pricing is not None:
        item["pricing"] = dict(pricing)
    if error_code is not None:
        item["errors"] = [error_object(error_code, error_details)]
    return item


def error_object(code: int, details: str | None = None) -> Raw:
    """Meta's ``errors[]`` element of a failed status (or of a message)."""
    title = ERROR_TABLE.get(code, ("Unknown error", 400, ""))[0]
    return {"code": code, "title": title, "message": title,
            "error_data": {"details": details or f"Sandbox: message failed with error {code}."},
            "href": ERROR_HREF}


def pricing(template_category: str | None, *, in_window: bool = False) -> Raw:
    """Per-message pricing (PMP, since July 2025): only templates are billed, by category.

    Replies are free customer service. A utility template sent while the customer-service window
    is open (``in_window``) is free too; marketing and authentication ones are always billed.
    """
    if template_category is None:
        return {"billable": False, "pricing_model": "PMP", "type": "free_customer_service",
                "category": "service"}
    category = template_category.lower()
    if in_window and category == "utility":
        return {"billable": False, "pricing_model": "PMP", "type": "free_customer_service",
                "category": category}
    return {"billable": True, "pricing_model": "PMP", "type": "regular", "category": category}


def conversation_object(conversation_id: str, origin: str,
                        expiration_timestamp: int | None = None) -> Raw:
    """A status's ``conversation``: Meta (v24.0+) sends it only inside free-entry-point windows
    (``origin`` ``referral_conversion``), with ``expiration_timestamp`` on ``sent`` only."""
    out: Raw = {"id": conversation_id}
    if expiration_timestamp is not None:
        out["expiration_timestamp"] = str(expiration_timestamp)
    out["origin"] = {"type": origin}
    return out


def statuses_payload(batch: Iterable[tuple[Channel, Raw]],
                     customers: CustomerBook | None = None) -> Raw:
    """One webhook body for statuses of any numbers: by account, then by number and shape.

    ``customers``: where the recipients' profiles come from (name, username); without it the
    contacts carry the number and BSUID only.
    """
    entries: dict[str, dict[tuple[str, str], tuple[Channel, list[Raw]]]] = {}
    for channel, item in batch:
        status = item["status"]
        shape = "failed" if status == "failed" else "seen" if status in SEEN else "sent"
        if shape != "failed" and "recipient_user_id" not in item:
            user_id = user_id_or_none(channel.waba_id, item.get("recipient_id", ""))
            if user_id is not None:
                item = {**item, "recipient_user_id": user_id}
        changes = entries.setdefault(channel.waba_id, {})
        changes.setdefault((channel.phone_number_id, shape), (channel, []))[1].append(item)
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": waba_id, "changes": [
                {"field": "messages",
                 "value": _statuses_value(channel, items, shape, customers)}
                for (_, shape), (channel, items) in changes.items()
            ]}
            for waba_id, changes in entries.items()
        ],
    }


def _statuses_value(channel: Channel, items: list[Raw], shape: str,
                    customers: CustomerBook | None) -> Raw:
    value: Raw = {"messaging_product": "whatsapp", "metadata": metadata(channel)}
    if shape != "failed":
        contacts: dict[str, Raw] = {}
        for item in items:
            user_id = item.get("recipient_user_id")
            if user_id is None or user_id in contacts:
                continue
            number = item.get("recipient_id") or None
            if customers is not None:
                customer = customers.shown(channel.waba_id, user_id, number)
                if customer.wa_id is None and number is not None:  # shared since
                    customer = customer._replace(wa_id=number)
            else:
                customer = Customer(user_id, wa_id=number)
            contacts[user_id] = customer.contact(with_username=shape == "seen")
        if contacts:
            value["contacts"] = list(contacts.values())
    value["statuses"] = items
    return value


def message_payload(channel: Channel, message: Raw, profile_name: str | None, *,
                    username: str | None = None, user_id: str | None = None,
                    hide_number: bool = False) -> Raw:
    """The webhook body of one inbound customer message (system messages carry no contacts).

    Adds what depends on the business portfolio: the sender's BSUID (``from_user_id``,
    ``contacts[].user_id``; ``user_id`` when given, else derived from ``from``) and, for a
    system message, the new BSUID. ``hide_number``: Meta does not share the sender's number, so
    neither ``from`` nor ``contacts[].wa_id`` is there, only the BSUID.
    """
    sender = message.get("from") or None
    user_id = user_id or message.get("from_user_id") or (
        user_id_or_none(channel.waba_id, sender) if sender else None)
    if hide_number and user_id is not None:
        sender = None
    out: Raw = {}
    if sender is not None:
        out["from"] = sender
    if user_id is not None:
        out["from_user_id"] = user_id
    out.update((k, v) for k, v in message.items() if k not in ("from", "from_user_id"))
    value: Raw = {"messaging_product": "whatsapp", "metadata": metadata(channel)}
    if message.get("type") == "system":
        out["system"] = _system(dict(out.get("system") or {}), channel.waba_id, user_id,
                                profile_name or sender)
    elif user_id is not None:
        customer = Customer(user_id, wa_id=sender, name=profile_name, username=username)
        value["contacts"] = [customer.contact()]
    elif sender is not None:  # not a phone number: no BSUID to give
        value["contacts"] = [{"profile": {"name": profile_name}, "wa_id": sender}
                             if profile_name is not None else {"wa_id": sender}]
    value["messages"] = [out]
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": channel.waba_id,
                   "changes": [{"field": "messages", "value": value}]}],
    }


def _system(system: Raw, portfolio_id: str, old_user_id: str | None, name: str | None) -> Raw:
    """Give a number or BSUID change its new BSUID (and, for a BSUID change, hide the number)."""
    kind = system.get("type")
    if kind == "user_changed_number":
        new_number = system.get("wa_id")
        if new_number and "user_id" not in system:
            new_user_id = user_id_or_none(portfolio_id, str(new_number))
            if new_user_id is not None:
                system["user_id"] = new_user_id
    elif kind == "user_changed_user_id":
        new_number = system.pop("wa_id", None)  # the new number, which Meta does not show
        if "user_id" not in system and new_number:
            new_user_id = user_id_or_none(portfolio_id, str(new_number))
            if new_user_id is not None:
                system["user_id"] = new_user_id
        if not system.get("body"):
            system["body"] = (f"User {name} changed from {old_user_id} to "
                              f"{system.get('user_id')}")
    # Meta's order: body, wa_id, user_id, type, then anything else given.
    order = ("body", "wa_id", "user_id", "type")
    return {**{k: system[k] for k in order if k in system},
            **{k: v for k, v in system.items() if k not in order}}
