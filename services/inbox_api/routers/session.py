"""Sign-in for browsers (API key -> HttpOnly session cookie), sign-out, and who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Cookie, Response

from services.inbox_api.deps import SESSION_COOKIE, Caller, Queries, Settings
from services.inbox_api.errors import error_responses
from services.inbox_api.schemas import Me, SessionIn

router = APIRouter(tags=["session"])


@router.post("/session", status_code=204, response_class=Response,
             responses=error_responses(401, 422))
async def sign_in(body: SessionIn, queries: Queries, settings: Settings) -> Response:
    """Exchange an API key for a session cookie (HttpOnly, SameSite=Strict)."""
    token, _ = await queries.sign_in(body.api_key, settings.session_lifetime.total_seconds())
    response = Response(status_code=204)
    response.set_cookie(SESSION_COOKIE, token,
                        max_age=int(settings.session_lifetime.total_seconds()), path="/",
                        httponly=True, samesite="strict", secure=settings.cookie_secure)
    return response


@router.delete("/session", status_code=204, response_class=Response)
async def sign_out(queries: Queries, settings: Settings,
                   wai_session: Annotated[str | None, Cookie(include_in_schema=False)] = None,
                   ) -> Response:
    """End the browser session (always 204)."""
    await queries.sign_out(wai_session)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                           secure=settings.cookie_secure)
    return response


@router.get("/me", responses=error_responses(401))
async def me(caller: Caller, queries: Queries) -> Me:
    """Who the credential says the caller is, and the tenant's business numbers."""
    return await queries.me(caller)
