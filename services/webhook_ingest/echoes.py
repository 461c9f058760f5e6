"""``field: smb_message_echoes`` -> :class:`MessageEchoed`. Pure: no I/O.

Coexistence: a business number also used in the WhatsApp Business app. Every message the business
sends from the app (or a linked device) comes back as an echo, ``value.message_echoes[]``, with
``from`` the business's display number, ``to`` the customer's number (``to_user_id`` their BSUID,
``to_parent_user_id`` the parent BSUID), ``id``, ``timestamp`` and the usual type object; edits
and deletions made in the app arrive the same way (``type: "edit"`` / ``"revoke"``). An inbox that
skipped them would show half of each conversation.
"""

from __future__ import annotations

from services.webhook_ingest.change import Change, known_keys
from services.webhook_ingest.messages import parse_echo
from services.webhook_ingest.payload import Metadata, Raw, leftovers


def parse_echoes(ctx: Change, value: Raw) -> None:
    """One :class:`MessageEchoed` per echo, keyed by the customer (``to`` / ``to_user_id``)."""
    metadata = Metadata.of(value)
    tenant = ctx.tenant_for_number(metadata.phone_number_id)
    raw_meta = value["metadata"]
    contacts = value.get("contacts")
    contact_list = contacts if isinstance(contacts, list) else []
    ctx.each(value, "message_echoes",
             lambda item: parse_echo(item, metadata, contact_list, tenant, ctx.salt),
             {"metadata": raw_meta, "contacts": contacts})
    if "errors" in value:
        ctx.value_errors(value, metadata, tenant)
    rest = leftovers(value, known_keys(value, "message_echoes"))
    if rest:
        ctx.unhandled({"metadata": raw_meta, **rest})
