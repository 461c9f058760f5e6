"""Tenant ids no tenant may take: ``unassigned`` collects webhooks for numbers no tenant has
claimed (shared/channels.py), and a few names are kept for the platform itself."""

from __future__ import annotations

from shared.channels import UNASSIGNED_TENANT

RESERVED_TENANT_IDS = frozenset({UNASSIGNED_TENANT, "system", "admin", "root", "platform"})


class ReservedTenantId(ValueError):
    """The tenant id is reserved or empty; the message says why."""


def check_tenant_id(tenant_id: str) -> str:
    """``tenant_id`` if a tenant may use it, else :class:`ReservedTenantId`."""
    name = tenant_id.strip()
    if not name:
        raise ReservedTenantId("a tenant id cannot be empty")
    if name != tenant_id:
        raise ReservedTenantId(f"tenant id {tenant_id!r} has leading or trailing spaces")
    if name.startswith("_"):
        raise ReservedTenantId(f"tenant id {tenant_id!r} is reserved: ids starting with '_' "
                               "belong to the platform")
    if name.casefold() in RESERVED_TENANT_IDS:
        raise ReservedTenantId(f"tenant id {tenant_id!r} is reserved (reserved: "
                               f"{', '.join(sorted(RESERVED_TENANT_IDS))}, and ids starting "
                               "with '_')")
    return tenant_id
