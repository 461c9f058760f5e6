"""FastAPI dependencies: the use cases from the lifespan state, the caller, idempotency keys.

Every feature's routes take their use cases from here, so ``State`` (what main.py opens) and the
per-request wiring are in one place.
"""

from __future__ import annotations

from typing import Annotated, Any, NotRequired, TypedDict

from fastapi import Cookie, Depends, Header, Request

from services.inbox_api.account_health.service import AccountNoticesQuery
from services.inbox_api.accounts.credentials import Identity
from services.inbox_api.accounts.people import PeopleAdmin
from services.inbox_api.accounts.roles import require_admin
from services.inbox_api.accounts.service import AccountService
from services.inbox_api.audit.service import AuditLog
from services.inbox_api.campaigns.service import CampaignService
from services.inbox_api.canned_replies.service import CannedReplies
from services.inbox_api.conversations.commands import InboxCommands
from services.inbox_api.conversations.media import InboxMedia
from services.inbox_api.conversations.service import InboxQueries
from services.inbox_api.conversations.stream import StreamHub
from services.inbox_api.errors import Unavailable
from services.inbox_api.keys.service import KeyAdmin
from services.inbox_api.labels.service import Labels
from services.inbox_api.notes.service import NoteService
from services.inbox_api.presence.service import PresenceService
from services.inbox_api.settings import InboxApiSettings
from services.inbox_api.teams.service import TeamService
from services.inbox_api.templates.ports import TemplateReader
from services.inbox_api.templates.service import TemplateAdmin

SESSION_COOKIE = "wai_session"
# Where current_identity leaves the caller in the request's scope, for the audit middleware.
IDENTITY_SCOPE_KEY = "inbox_api.identity"


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
    # Accounts with people (password sign-in, roles of persons, the team); absent in unit tests
    # wired without a database, where ``queries`` authenticates keys only.
    accounts: NotRequired[AccountService]
    people: NotRequired[PeopleAdmin]
    teams: NotRequired[TeamService]
    notes: NotRequired[NoteService]
    labels: NotRequired[Labels]
    canned_replies: NotRequired[CannedReplies]
    audit: NotRequired[AuditLog]
    presence: NotRequired[PresenceService]
    # API keys through the API (admins) and the tenant's numbers.
    keys: NotRequired[KeyAdmin]


def _state(request: Request) -> Any:
    return request.state


def get_queries(request: Request) -> InboxQueries:
    queries: InboxQueries = _state(request).queries
    return queries


def get_accounts(request: Request) -> AccountService:
    state = _state(request)
    accounts: AccountService = getattr(state, "accounts", None) or state.queries
    return accounts


def get_people_admin(request: Request) -> PeopleAdmin:
    people: PeopleAdmin | None = getattr(_state(request), "people", None)
    if people is None:
        raise Unavailable("Managing people needs the database; it is not wired here.")
    return people


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


def get_teams(request: Request) -> TeamService:
    teams: TeamService = _state(request).teams
    return teams


def get_notes(request: Request) -> NoteService:
    notes: NoteService = _state(request).notes
    return notes


def get_mentions(request: Request) -> NoteService | None:
    """The notes' use cases where the app has them (the list's mention markers)."""
    notes: NoteService | None = getattr(_state(request), "notes", None)
    return notes


Queries = Annotated[InboxQueries, Depends(get_queries)]
Accounts = Annotated[AccountService, Depends(get_accounts)]
PeopleAdminDep = Annotated[PeopleAdmin, Depends(get_people_admin)]
Commands = Annotated[InboxCommands, Depends(get_commands)]
Settings = Annotated[InboxApiSettings, Depends(get_settings)]
Hub = Annotated[StreamHub, Depends(get_hub)]
Media = Annotated[InboxMedia, Depends(get_media)]
Templates = Annotated[TemplateReader, Depends(get_template_reader)]
TemplateAdminDep = Annotated[TemplateAdmin, Depends(get_template_admin)]
Campaigns = Annotated[CampaignService, Depends(get_campaigns)]
AccountNotices = Annotated[AccountNoticesQuery, Depends(get_account_notices)]
Teams = Annotated[TeamService, Depends(get_teams)]
Notes = Annotated[NoteService, Depends(get_notes)]
Mentions = Annotated[NoteService | None, Depends(get_mentions)]


def get_labels(request: Request) -> Labels:
    labels: Labels = _state(request).labels
    return labels


def get_canned_replies(request: Request) -> CannedReplies:
    canned: CannedReplies = _state(request).canned_replies
    return canned


def get_audit(request: Request) -> AuditLog:
    audit: AuditLog = _state(request).audit
    return audit


LabelsDep = Annotated[Labels, Depends(get_labels)]
CannedRepliesDep = Annotated[CannedReplies, Depends(get_canned_replies)]
AuditDep = Annotated[AuditLog, Depends(get_audit)]


def get_presence(request: Request) -> PresenceService:
    presence: PresenceService = _state(request).presence
    return presence


PresenceDep = Annotated[PresenceService, Depends(get_presence)]


def get_key_admin(request: Request) -> KeyAdmin:
    keys: KeyAdmin | None = getattr(_state(request), "keys", None)
    if keys is None:
        raise Unavailable("Managing keys needs the database; it is not wired here.")
    return keys


KeyAdminDep = Annotated[KeyAdmin, Depends(get_key_admin)]


async def current_identity(
    request: Request,
    accounts: Accounts,
    authorization: Annotated[str | None, Header(
        description="`Bearer wai_...` (or use the session cookie)")] = None,
    wai_session: Annotated[str | None, Cookie(include_in_schema=False)] = None,
) -> Identity:
    identity = await accounts.authenticate(authorization, wai_session,
                                           request.client.host if request.client else None)
    request.scope[IDENTITY_SCOPE_KEY] = identity
    return identity


Caller = Annotated[Identity, Depends(current_identity)]


async def admin_identity(caller: Caller) -> Identity:
    """The caller, if an admin; else 403 ``admin_only``."""
    return require_admin(caller)


# For routes that manage templates, campaigns, channels, keys or people.
RequireAdmin = Annotated[Identity, Depends(admin_identity)]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=200,
    description="Any string; the same key twice is one command.")]
