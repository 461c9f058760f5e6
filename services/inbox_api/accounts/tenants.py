"""A tenant's settings: what an admin chose for the whole team. Pure.

Stored one document per tenant in ``tenant_settings`` (``_id`` = the tenant id), written by the
admin command line (``python -m services.inbox_api.admin set-tenant``); a tenant without one, and
any setting a document lacks, has the default. Read where a setting decides something (a
conversation's read, the typing indicator) and shown to the team in ``GET /me``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class TenantSettings:
    # Opening a thread marks the customer's newest message read on WhatsApp (blue ticks), and the
    # composer shows WhatsApp's typing indicator (Meta's typing call marks the message read too,
    # so it goes with this setting). Off: the agents' unread still clears; the customer sees
    # neither.
    read_receipts: bool = True


DEFAULT_SETTINGS = TenantSettings()


def settings_of(doc: Mapping[str, Any] | None) -> TenantSettings:
    """The stored document as settings; absent or malformed values have their default."""
    if doc is None:
        return DEFAULT_SETTINGS
    read_receipts = doc.get("read_receipts")
    return TenantSettings(
        read_receipts=read_receipts if isinstance(read_receipts, bool)
        else DEFAULT_SETTINGS.read_receipts)


def settings_document(tenant_id: str, settings: TenantSettings) -> dict[str, Any]:
    return {"_id": tenant_id, "read_receipts": settings.read_receipts}
