"""Lookups that answer 404 for what is absent or another tenant's (never 403: that would confirm
the id exists)."""

from __future__ import annotations

from typing import Protocol

from services.inbox_api.accounts.credentials import Identity
from services.inbox_api.errors import NotFound
from shared.channels import Channel


class ChannelSource(Protocol):
    async def channel(self, phone_number_id: str) -> Channel | None: ...


async def own_channel(source: ChannelSource, who: Identity, phone_number_id: str) -> Channel:
    """The caller's tenant's business number, or 404 ``channel_not_found``."""
    channel = await source.channel(phone_number_id)
    if channel is None or channel.tenant_id != who.tenant_id:
        raise NotFound("No such business number.", code="channel_not_found")
    return channel
