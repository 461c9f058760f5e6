"""Every route of the real app decides who may call it (issue 16: "every endpoint checks the
role"). Admin-only routes are listed in :data:`ADMIN_ONLY`; every other route that changes
something is listed in :data:`AGENT_ALLOWED`, so a new mutating route fails here until someone
decides which it is. An agent calling an admin-only route gets 403 ``admin_only`` with a
sentence saying why."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from services.inbox_api.deps import admin_identity
from services.inbox_api.main import API_PREFIX, create_app
from services.inbox_api.settings import InboxApiSettings
from tests.unit.inbox_api.fakes import WithState, key_doc, seeded_repository
from tests.unit.inbox_api.test_keys import Desk, desk_of
from tests.unit.inbox_api.test_team_roles import AGENT_KEY, FakePeople

Route = tuple[str, str]

# Managing templates, campaigns, channels, keys, people, the rotation; reading the audit log.
# (Channels are read by everyone and changed only from the command line: no route here.)
ADMIN_ONLY: frozenset[Route] = frozenset({
    ("POST", "/session/links"),
    ("POST", "/templates"),
    ("PUT", "/templates/{template_id}"),
    ("DELETE", "/templates/{template_id}"),
    ("POST", "/templates/sync"),
    ("POST", "/campaigns"),
    ("POST", "/campaigns/{campaign_id}/recipients"),
    ("PUT", "/campaigns/{campaign_id}/schedule"),
    ("DELETE", "/campaigns/{campaign_id}/schedule"),
    ("POST", "/campaigns/{campaign_id}/start"),
    ("POST", "/campaigns/{campaign_id}/pause"),
    ("POST", "/campaigns/{campaign_id}/resume"),
    ("POST", "/campaigns/{campaign_id}/cancel"),
    ("GET", "/keys"),
    ("POST", "/keys"),
    ("DELETE", "/keys/{key_id}"),
    ("POST", "/agents/invitations"),
    ("POST", "/agents/{agent_id}/deactivate"),
    ("PUT", "/round-robin"),
    ("GET", "/audit"),
    ("GET", "/audit.csv"),
    ("GET", "/audit/{entry_id}"),
})

# Changes every agent may make: working conversations, their own notes, labels, canned
# replies, teams, their own round-robin turn and presence; signing in and out (no credential
# yet), accepting an invitation (the link is the credential), previews that change nothing.
AGENT_ALLOWED: frozenset[Route] = frozenset({
    ("POST", "/session"),
    ("DELETE", "/session"),
    ("POST", "/invitations/{token}"),
    ("POST", "/conversations"),
    ("POST", "/conversations/{conversation_id}/messages"),
    ("POST", "/conversations/{conversation_id}/reactions"),
    ("POST", "/conversations/{conversation_id}/read"),
    ("POST", "/conversations/{conversation_id}/typing"),
    ("POST", "/conversations/{conversation_id}/status"),
    ("POST", "/conversations/{conversation_id}/assignee"),
    ("POST", "/conversations/{conversation_id}/attachments"),
    ("POST", "/conversations/{conversation_id}/notes"),
    ("POST", "/conversations/{conversation_id}/mentions/read"),
    ("PUT", "/conversations/{conversation_id}/labels"),
    ("POST", "/conversations/{conversation_id}/labels/{label_id}"),
    ("DELETE", "/conversations/{conversation_id}/labels/{label_id}"),
    ("PUT", "/conversations/{conversation_id}/presence"),
    ("DELETE", "/conversations/{conversation_id}/presence"),
    ("POST", "/media/{media_id}/retry"),
    ("POST", "/templates/preview"),
    ("POST", "/templates/{template_id}/preview"),
    ("POST", "/labels"),
    ("PATCH", "/labels/{label_id}"),
    ("DELETE", "/labels/{label_id}"),
    ("POST", "/canned-replies"),
    ("PATCH", "/canned-replies/{reply_id}"),
    ("DELETE", "/canned-replies/{reply_id}"),
    ("POST", "/teams"),
    ("PUT", "/teams/{team_id}"),
    ("DELETE", "/teams/{team_id}"),
    ("PUT", "/round-robin/me"),
})
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


APP = create_app(InboxApiSettings())


def api_routes() -> Iterator[tuple[str, APIRoute]]:
    """Every API route of the app, by its path under ``/api/v1``. FastAPI may include a router
    lazily (a wrapper holding the router as ``original_router``, its routes without the
    prefix); the OpenAPI document cross-checks that this walk saw every route."""
    for route in APP.routes:
        if isinstance(route, APIRoute) and route.path.startswith(API_PREFIX):
            yield route.path.removeprefix(API_PREFIX), route
        inner = getattr(route, "original_router", None)
        for sub in getattr(inner, "routes", ()):
            if isinstance(sub, APIRoute):
                yield sub.path.removeprefix(API_PREFIX), sub


def documented() -> set[Route]:
    paths = APP.openapi()["paths"]
    return {(method.upper(), path.removeprefix(API_PREFIX)) for path, item in paths.items()
            if path.startswith(API_PREFIX) for method in item}


def requires_admin(dependant: Dependant) -> bool:
    return any(d.call is admin_identity or requires_admin(d) for d in dependant.dependencies)


ROUTES = {(method, path): route for path, route in api_routes()
          for method in sorted(route.methods or ()) if method != "HEAD"}


def concrete(path: str) -> str:
    """A path with every parameter filled (an id nobody has)."""
    return re.sub(r"\{[^}]+\}", "x1", path)


@pytest.fixture
def desk() -> Desk:
    seeded = seeded_repository()
    repository = FakePeople(keys=seeded.keys, channels=seeded.channels)
    agent = {**key_doc(AGENT_KEY, "acme", "nia"), "role": "agent"}
    repository.keys[agent["_id"]] = agent
    return desk_of(repository)


def test_every_mutating_route_is_decided() -> None:
    undecided = sorted(r for r in ROUTES if r[0] in MUTATING
                       and r not in ADMIN_ONLY and r not in AGENT_ALLOWED)
    assert undecided == [], ("a new route: add it to ADMIN_ONLY or AGENT_ALLOWED "
                             f"(docs/inbox-api.md, People and roles): {undecided}")


def test_the_walk_sees_every_documented_route() -> None:
    assert len(ROUTES) > 50
    assert {r for r in documented() if r[0] in MUTATING} <= set(ROUTES)


def test_the_tables_name_real_routes_once() -> None:
    assert sorted((ADMIN_ONLY | AGENT_ALLOWED) - set(ROUTES)) == []
    assert sorted(ADMIN_ONLY & AGENT_ALLOWED) == []


def test_the_admin_only_routes_are_those_requiring_an_admin() -> None:
    """The role is checked before anything else (``RequireAdmin``), so no input of an agent
    reaches an admin's use case, and nothing else asks for the admin role by the way."""
    guarded = {r for r in ROUTES if requires_admin(ROUTES[r].dependant)}
    assert sorted(ADMIN_ONLY - guarded) == []
    assert sorted(guarded - ADMIN_ONLY) == []


@pytest.mark.parametrize("route", sorted(ADMIN_ONLY), ids=lambda r: f"{r[0]} {r[1]}")
async def test_an_agent_gets_403_admin_only_with_a_reason(desk: Desk, route: Route) -> None:
    method, path = route
    async with desk.client(AGENT_KEY) as agent:
        response = await agent.request(method, API_PREFIX + concrete(path), json={})
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["error"] == "admin_only"
    assert body["required_role"] == "admin"
    assert "admin" in body["detail"]
    assert "your role is 'agent'" in body["detail"]


@pytest.mark.parametrize("route", sorted(ADMIN_ONLY), ids=lambda r: f"{r[0]} {r[1]}")
async def test_no_credential_is_401_before_the_role(route: Route) -> None:
    app = WithState(create_app(InboxApiSettings()), desk_of(FakePeople()).app.state)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://inbox") as anonymous:
        response = await anonymous.request(route[0], API_PREFIX + concrete(route[1]), json={})
    assert response.status_code == 401
