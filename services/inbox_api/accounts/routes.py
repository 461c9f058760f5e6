"""Sign-in for browsers (an API key, or an email and password -> HttpOnly session cookie),
sign-out, who am I, and the tenant's people: listed for everyone (so the inbox can show names
where the data has agent ids), invited and deactivated by admins; an invitation's acceptance."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Cookie, Path, Request, Response

from services.inbox_api.accounts.schemas import (
    AcceptIn,
    AgentList,
    AgentOut,
    InvitationIn,
    InvitationOut,
    InvitationView,
    Me,
    SessionIn,
    SignInLinkOut,
)
from services.inbox_api.deps import (
    SESSION_COOKIE,
    Accounts,
    Caller,
    PeopleAdminDep,
    RequireAdmin,
    Settings,
)
from services.inbox_api.errors import InvalidInput, error_responses
from services.inbox_api.settings import InboxApiSettings

router = APIRouter(tags=["session"])
AgentId = Annotated[str, Path(min_length=1, max_length=200)]


def _with_cookie(response: Response, token: str, settings: InboxApiSettings) -> Response:
    response.set_cookie(SESSION_COOKIE, token,
                        max_age=int(settings.session_lifetime.total_seconds()), path="/",
                        httponly=True, samesite="strict", secure=settings.cookie_secure)
    return response


@router.post("/session", status_code=204, response_class=Response,
             responses=error_responses(401, 422, 429))
async def sign_in(body: SessionIn, request: Request, accounts: Accounts,
                  settings: Settings) -> Response:
    """Exchange an API key, a person's email and password, or a sign-in link's token (once) for
    a session cookie (HttpOnly, SameSite=Strict). Repeated failures for an email or a
    credential, or from a client, are throttled (429 with Retry-After)."""
    lifetime = settings.session_lifetime.total_seconds()
    client = request.client.host if request.client else None
    if body.link_token:
        token, _ = await accounts.sign_in_with_link(body.link_token, lifetime, client)
    elif body.api_key:
        token, _ = await accounts.sign_in(body.api_key, lifetime, client)
    elif body.email and body.password:
        token, _ = await accounts.sign_in_with_password(body.email, body.password, lifetime,
                                                        client)
    else:
        raise InvalidInput("Send an api_key, or an email and a password.",
                           code="validation_failed", field="email" if body.password else
                           "password" if body.email else "api_key")
    return _with_cookie(Response(status_code=204), token, settings)


@router.post("/session/links", status_code=201, responses=error_responses(401, 403))
async def create_sign_in_link(caller: RequireAdmin, accounts: Accounts,
                              settings: Settings) -> SignInLinkOut:
    """A single-use sign-in link for the caller (admins only; `python -m
    services.inbox_api.admin sign-in-link` makes one for any key): open `/#signin=<token>`
    within INBOX_API_SIGN_IN_LINK_LIFETIME (10 minutes); a second use is 401."""
    return await accounts.sign_in_link(caller, settings.sign_in_link_lifetime.total_seconds())


@router.delete("/session", status_code=204, response_class=Response)
async def sign_out(accounts: Accounts, settings: Settings,
                   wai_session: Annotated[str | None, Cookie(include_in_schema=False)] = None,
                   ) -> Response:
    """End the browser session (always 204)."""
    await accounts.sign_out(wai_session)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                           secure=settings.cookie_secure)
    return response


@router.get("/me", responses=error_responses(401))
async def me(caller: Caller, accounts: Accounts) -> Me:
    """Who the credential says the caller is, and the tenant's business numbers."""
    return await accounts.me(caller)


@router.get("/agents", responses=error_responses(401))
async def list_agents(caller: Caller, accounts: Accounts) -> AgentList:
    """The caller's team: its people (role, active) and the agents of its usable keys (one
    entry per agent id)."""
    return await accounts.agents(caller)


@router.post("/agents/invitations", status_code=201, responses=error_responses(401, 403, 422))
async def invite(body: InvitationIn, caller: RequireAdmin, people: PeopleAdminDep) -> InvitationOut:
    """Invite someone (admins only): a one-time link, shown once, valid for 7 days."""
    return await people.invite(caller, body)


@router.post("/agents/{agent_id}/deactivate", responses=error_responses(401, 403, 404, 422))
async def deactivate(agent_id: AgentId, caller: RequireAdmin, people: PeopleAdminDep) -> AgentOut:
    """Deactivate someone of the team (admins only): their sessions and keys stop at once."""
    return await people.deactivate(caller, agent_id)


InvitationToken = Annotated[str, Path(min_length=1, max_length=200)]


@router.get("/invitations/{token}", responses=error_responses(404))
async def invitation(token: InvitationToken, people: PeopleAdminDep) -> InvitationView:
    """Who an invitation is for, while it can be accepted (no credential: the link is one)."""
    return await people.invitation(token)


@router.post("/invitations/{token}", status_code=201, responses=error_responses(404, 422))
async def accept_invitation(token: InvitationToken, body: AcceptIn, people: PeopleAdminDep,
                            settings: Settings, response: Response) -> AgentOut:
    """Accept an invitation with a new password: the person is created and signed in."""
    session, agent = await people.accept(token, body.password,
                                         settings.session_lifetime.total_seconds())
    _with_cookie(response, session, settings)
    return agent
