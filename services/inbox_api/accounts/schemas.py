"""The accounts' JSON shapes (docs/inbox-api.md): sign-in, invitations in; the caller, numbers,
agents (people) out."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from services.inbox_api.accounts.passwords import MAX_LENGTH
from services.inbox_api.schemas import ApiModel

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
Role = Literal["admin", "agent"]


class SessionIn(ApiModel):
    """An API key, a person's email and password, or a sign-in link's token."""

    api_key: str | None = Field(default=None, min_length=1, max_length=200)
    link_token: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, min_length=3, max_length=254, pattern=EMAIL_PATTERN)
    password: str | None = Field(default=None, min_length=1, max_length=MAX_LENGTH)


class InvitationIn(ApiModel):
    name: str = Field(min_length=1, max_length=100)
    email: str = Field(min_length=3, max_length=254, pattern=EMAIL_PATTERN)
    role: Role = "agent"


class InvitationView(ApiModel):
    """Who an invitation is for (the page that accepts it greets them)."""

    name: str
    email: str
    role: Role
    expires_at: datetime


class InvitationOut(InvitationView):
    """A one-time invitation: the token is shown once (only its digest is stored)."""

    token: str
    # The page that accepts it, relative to the inbox's address ("/#invite=<token>").
    link_path: str


class AcceptIn(ApiModel):
    password: str = Field(min_length=1, max_length=MAX_LENGTH)


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
    role: Role = "agent"
    channels: list[ChannelOut]
    settings: TenantSettingsOut = Field(default_factory=TenantSettingsOut)


class AgentOut(ApiModel):
    id: str
    display_name: str
    kind: Literal["agent", "service"]
    role: Role = "agent"
    active: bool = True
    # A person's sign-in email; None for an agent known only by API keys.
    email: str | None = None


class AgentList(ApiModel):
    items: list[AgentOut]


class SignInLinkOut(ApiModel):
    """A single-use sign-in link (shown once): open ``path`` on the inbox's address."""

    token: str
    path: str = Field(description="`/#signin=<token>`: the token stays in the fragment, so it "
                                  "never reaches a server's log.")
    expires_at: datetime
