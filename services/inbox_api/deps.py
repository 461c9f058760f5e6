"""FastAPI dependencies: the use cases from the lifespan state, the caller, idempotency keys.

Every feature's routes take their use cases from here, so ``State`` (what main.py opens) and the
per-request wiring are in one place.
"""

from __future__ import annotations

from typing import Annotated, Any, NotRequired, TypedDict

from fastapi import Cookie, Depends, Header, Request

from services.inbox_api.account_health.service import AccountNoticesQuery
from services.inbox_api.accounts.credentials import Identity
from services.inbox_api.accounts.service import AccountService
from services.inbox_api.campaigns.service import CampaignService
from services.inbox_api.conversations.commands import InboxCommands
from services.inbox_api.conversations.media import InboxMedia
from services.inbox_api.conversations.service import InboxQueries
from services.inbox_api.conversations.stream import StreamHub
from services.inbox_api.settings import InboxApiSettings
from services.inbox_api.templates.ports import TemplateReader
from services.inbox_api.templates.service import TemplateAdmin

SESSION_COOKIE = "wai_session"


class State(TypedDict):
    """What the lifespan opens, handed to every request."""

    settings: InboxApiSettings
    # The inbox's reads; also the accounts' use cases (InboxQueries extends AccountService).
    queries: InboxQueries
    commands: InboxCommands
    hub: StreamHub
    # A message's media: served from the archive, else from WhatsApp; retries.
    media: InboxMedia
    # Absent only in unit tests that wire the app without a database.
    campaigns: NotRequired[CampaignService]
    template_admin: NotRequired[TemplateAdmin]
    account_notices: NotRequired[AccountNoticesQuery]


def _state(request: Request) -> Any:
    return request.state


def get_queries(request: Request) -> InboxQueries:
    queries: InboxQueries = _state(request).queries
    return queries


def get_accounts(request: Request) -> AccountService:
    accounts: AccountService = _state(request).queries
    return accounts


def get_commands(request: Request) -> InboxCommands:
    commands: InboxCommands = _state(request).commands
    return commands


def get_settings(request: Request) -> InboxApiSettings:
    settings: InboxApiSettings = _state(request).settings
    return settings


def get_hub(request: Request) -> StreamHub:
    hub: StreamHub = _state(request).hub
    return hub


def get_media(request: Request) -> InboxMedia:
    media: InboxMedia = _state(request).media
    return media


def get_template_reader(request: Request) -> TemplateReader:
    """The composer's template list reads through the inbox's repository."""
    reader: TemplateReader = _state(request).queries.repository
    return reader


def get_template_admin(request: Request) -> TemplateAdmin:
    admin: TemplateAdmin = _state(request).template_admin
    return admin


def get_account_notices(request: Request) -> AccountNoticesQuery:
    notices: AccountNoticesQuery = _state(request).account_notices
    return notices


def get_campaigns(request: Request) -> CampaignService:
    campaigns: CampaignService = _state(request).campaigns
    return campaigns


Queries = Annotated[InboxQueries, Depends(get_queries)]
Accounts = Annotated[AccountService, Depends(get_accounts)]
Commands = Annotated[InboxCommands, Depends(get_commands)]
Settings = Annotated[InboxApiSettings, Depends(get_settings)]
Hub = Annotated[StreamHub, Depends(get_hub)]
Media = Annotated[InboxMedia, Depends(get_media)]
Templates = Annotated[TemplateReader, Depends(get_template_reader)]
TemplateAdminDep = Annotated[TemplateAdmin, Depends(get_template_admin)]
Campaigns = Annotated[CampaignService, Depends(get_campaigns)]
AccountNotices = Annotated[AccountNoticesQuery, Depends(get_account_notices)]


async def current_identity(
    accounts: Accounts,
    authorization: Annotated[str | None, Header(
        description="`Bearer wai_...` (or use the session cookie)")] = None,
    wai_session: Annotated[str | None, Cookie(include_in_schema=False)] = None,
) -> Identity:
    return await accounts.authenticate(authorization, wai_session)


Caller = Annotated[Identity, Depends(current_identity)]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=200,
    description="Any string; the same key twice is one command.")]
