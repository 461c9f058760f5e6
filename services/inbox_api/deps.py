"""FastAPI dependencies: the use cases from the lifespan state, the caller, idempotency keys."""

from __future__ import annotations

from typing import Annotated, Any, NotRequired, TypedDict

from fastapi import Cookie, Depends, Header, Request

from services.inbox_api.auth import Identity
from services.inbox_api.campaigns.service import CampaignService
from services.inbox_api.commands import InboxCommands
from services.inbox_api.ports import MediaSource
from services.inbox_api.service import InboxQueries
from services.inbox_api.settings import InboxApiSettings
from services.inbox_api.stream import StreamHub
from services.inbox_api.templates.service import TemplateAdmin

SESSION_COOKIE = "wai_session"


class State(TypedDict):
    """What the lifespan opens, handed to every request."""

    settings: InboxApiSettings
    queries: InboxQueries
    commands: InboxCommands
    hub: StreamHub
    media: MediaSource
    # Absent only in unit tests that wire the app without a database.
    campaigns: NotRequired[CampaignService]
    template_admin: NotRequired[TemplateAdmin]


def _state(request: Request) -> Any:
    return request.state


def get_queries(request: Request) -> InboxQueries:
    queries: InboxQueries = _state(request).queries
    return queries


def get_commands(request: Request) -> InboxCommands:
    commands: InboxCommands = _state(request).commands
    return commands


def get_settings(request: Request) -> InboxApiSettings:
    settings: InboxApiSettings = _state(request).settings
    return settings


def get_hub(request: Request) -> StreamHub:
    hub: StreamHub = _state(request).hub
    return hub


def get_media(request: Request) -> MediaSource:
    media: MediaSource = _state(request).media
    return media


Queries = Annotated[InboxQueries, Depends(get_queries)]
Commands = Annotated[InboxCommands, Depends(get_commands)]
Settings = Annotated[InboxApiSettings, Depends(get_settings)]
Hub = Annotated[StreamHub, Depends(get_hub)]
Media = Annotated[MediaSource, Depends(get_media)]


async def current_identity(
    queries: Queries,
    authorization: Annotated[str | None, Header(
        description="`Bearer wai_...` (or use the session cookie)")] = None,
    wai_session: Annotated[str | None, Cookie(include_in_schema=False)] = None,
) -> Identity:
    return await queries.authenticate(authorization, wai_session)


Caller = Annotated[Identity, Depends(current_identity)]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=200,
    description="Any string; the same key twice is one command.")]

