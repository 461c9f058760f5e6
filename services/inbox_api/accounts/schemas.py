"""The accounts' JSON shapes (docs/inbox-api.md): sign-in in; the caller, numbers, agents out."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from services.inbox_api.schemas import ApiModel


class SessionIn(ApiModel):
    api_key: str = Field(min_length=1, max_length=200)


class ChannelOut(ApiModel):
    """One of the tenant's business numbers (never its access token), and its account: the
    templates a number can send are those of its WhatsApp Business Account."""

    phone_number_id: str
    display_phone_number: str
    # display_phone_number in international format ("+1 555-000-7171"), for the page.
    display_number: str | None = None
    waba_id: str


class TenantSettingsOut(ApiModel):
    """What the tenant's admin chose (``python -m services.inbox_api.admin set-tenant``)."""

    # Opening a thread sends WhatsApp read receipts (blue ticks), and typing shows WhatsApp's
    # typing indicator; off: neither reaches the customer.
    read_receipts: bool = True


class Me(ApiModel):
    tenant_id: str
    agent_id: str
    display_name: str
    kind: Literal["agent", "service"]
    channels: list[ChannelOut]
    settings: TenantSettingsOut = Field(default_factory=TenantSettingsOut)


class AgentOut(ApiModel):
    id: str
    display_name: str
    kind: Literal["agent", "service"]


class AgentList(ApiModel):
    items: list[AgentOut]
