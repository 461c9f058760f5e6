"""Sign-in for browsers (API key -> HttpOnly session cookie), sign-out, who am I, and the
tenant's agents (so the inbox can show names where the data has agent ids)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Cookie, Response

from services.inbox_api.accounts.schemas import AgentList, Me, SessionIn
from services.inbox_api.deps import SESSION_COOKIE, Accounts, Caller, Settings
from services.inbox_api.errors import error_responses

router = APIRouter(tags=["session"])


@router.post("/session", status_code=204, response_class=Response,
             responses=error_responses(401, 422))
async def sign_in(body: SessionIn, accounts: Accounts, settings: Settings) -> Response:
    """Exchange an API key for a session cookie (HttpOnly, SameSite=Strict)."""
    token, _ = await accounts.sign_in(body.api_key, settings.session_lifetime.total_seconds())
    response = Response(status_code=204)
    response.set_cookie(SESSION_COOKIE, token,
                        max_age=int(settings.session_lifetime.total_seconds()), path="/",
                        httponly=True, samesite="strict", secure=settings.cookie_secure)
    return response


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
    """Everyone with a usable key in the caller's tenant (one entry per agent id)."""
    return await accounts.agents(caller)
