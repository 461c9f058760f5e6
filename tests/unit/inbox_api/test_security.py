"""Issue 17's web security, on the real app over fakes: the browser's security headers, failed
authentication throttled (429 with Retry-After) per client and per credential prefix, single-use
sign-in links (used once, expiring by the injected clock), and /metrics and the API docs off the
API port."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest

from services.inbox_api.accounts.people import PeopleAdmin
from services.inbox_api.accounts.service import AccountService
from services.inbox_api.accounts.throttle import PER_CLIENT, PER_EMAIL
from services.inbox_api.main import create_app, create_ops_app
from services.inbox_api.security_headers import INBOX_POLICY
from services.inbox_api.settings import InboxApiSettings
from tests.unit.inbox_api.fakes import ACME_KEY, GLOBEX_KEY, WithState, seeded_repository, wire
from tests.unit.inbox_api.test_team_roles import Clock, FakePeople

ATTACKER = ("203.0.113.9", 40000)
OFFICE = ("198.51.100.7", 40000)


@dataclass
class Desk:
    repository: FakePeople
    clock: Clock
    app: WithState

    def client(self, key: str | None = None,
               address: tuple[str, int] = OFFICE) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app, client=address),
                                 base_url="http://inbox", headers=headers)


def desk_with(settings: InboxApiSettings) -> Desk:
    seeded = seeded_repository()
    repository = FakePeople(keys=seeded.keys, channels=seeded.channels)
    wiring, clock = wire(repository), Clock()
    accounts = AccountService(repository, clock, people=repository)
    state = wiring.state.copy()
    state["accounts"], state["people"] = accounts, PeopleAdmin(accounts, repository)
    return Desk(repository, clock, WithState(create_app(settings, clock=clock), state))


@pytest.fixture
def desk() -> Desk:
    return desk_with(InboxApiSettings())


def bad_key() -> str:
    return "wai_" + secrets.token_urlsafe(32)


class TestSecurityHeaders:
    @pytest.mark.parametrize("path", ["/", "/app.js", "/js/session.js", "/app.css",
                                      "/api/v1/me", "/api/v1/conversations", "/healthz",
                                      "/no-such-file"])
    async def test_every_response_carries_them(self, desk: Desk, path: str) -> None:
        async with desk.client(ACME_KEY) as http:
            response = await http.get(path)
        assert response.headers["content-security-policy"] == INBOX_POLICY
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"

    async def test_refusals_carry_them_too(self, desk: Desk) -> None:
        async with desk.client() as http:
            response = await http.get("/api/v1/me")
        assert response.status_code == 401
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]

    def test_the_policy_allows_only_the_inbox_itself(self) -> None:
        directives = dict(d.split(" ", 1) for d in INBOX_POLICY.split("; "))
        assert directives["default-src"] == "'self'"
        assert directives["script-src"] == "'self'"
        assert directives["style-src"] == "'self'"
        assert directives["frame-ancestors"] == "'none'"
        assert "unsafe" not in INBOX_POLICY


class TestFailedAuthenticationThrottle:
    async def test_bad_keys_from_one_client_are_throttled_with_retry_after(
            self, desk: Desk) -> None:
        for _ in range(PER_CLIENT.failures):
            async with desk.client(bad_key(), ATTACKER) as http:
                assert (await http.get("/api/v1/me")).status_code == 401
        async with desk.client(bad_key(), ATTACKER) as http:
            refused = await http.get("/api/v1/me")
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) == 15 * 60
        assert refused.json()["error"] == "sign_in_throttled"
        # Even a good key waits from that address (else guessing would still pay off) ...
        async with desk.client(ACME_KEY, ATTACKER) as http:
            assert (await http.get("/api/v1/me")).status_code == 429
        # ... while a good key from another client works.
        async with desk.client(ACME_KEY, OFFICE) as http:
            assert (await http.get("/api/v1/me")).status_code == 200

    async def test_one_key_prefix_is_throttled_from_any_client(self, desk: Desk) -> None:
        guessed = "wai_" + "x" * 8
        for i in range(PER_EMAIL.failures):
            async with desk.client(guessed + secrets.token_urlsafe(32),
                                   (f"192.0.2.{i}", 1)) as http:
                assert (await http.get("/api/v1/me")).status_code == 401
        async with desk.client(guessed + "y" * 35, ("192.0.2.99", 1)) as http:
            refused = await http.get("/api/v1/me")
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > 0
        async with desk.client(GLOBEX_KEY, ("192.0.2.99", 1)) as http:
            assert (await http.get("/api/v1/me")).status_code == 200

    async def test_bad_session_cookies_count_too(self, desk: Desk) -> None:
        for _ in range(PER_CLIENT.failures):
            async with desk.client(address=ATTACKER) as http:
                http.cookies.set("wai_session", secrets.token_urlsafe(32))
                assert (await http.get("/api/v1/me")).status_code == 401
        async with desk.client(address=ATTACKER) as http:
            http.cookies.set("wai_session", secrets.token_urlsafe(32))
            assert (await http.get("/api/v1/me")).status_code == 429

    async def test_no_credential_at_all_is_not_counted(self, desk: Desk) -> None:
        # The web inbox asks /me before anyone signed in: that is no guess.
        async with desk.client(address=ATTACKER) as http:
            for _ in range(PER_CLIENT.failures + 1):
                assert (await http.get("/api/v1/me")).status_code == 401

    async def test_the_window_passes(self, desk: Desk) -> None:
        for _ in range(PER_CLIENT.failures):
            async with desk.client(bad_key(), ATTACKER) as http:
                await http.get("/api/v1/me")
        desk.clock.now += PER_CLIENT.window
        async with desk.client(ACME_KEY, ATTACKER) as http:
            assert (await http.get("/api/v1/me")).status_code == 200


class TestSignInLinks:
    async def make_link(self, desk: Desk, key: str = ACME_KEY) -> dict[str, str]:
        async with desk.client(key) as http:
            response = await http.post("/api/v1/session/links")
        assert response.status_code == 201, response.text
        body: dict[str, str] = response.json()
        return body

    async def test_a_link_signs_in_once(self, desk: Desk) -> None:
        link = await self.make_link(desk)
        assert link["path"] == f"/#signin={link['token']}"
        async with desk.client() as browser:
            signed_in = await browser.post("/api/v1/session",
                                           json={"link_token": link["token"]})
            assert signed_in.status_code == 204
            me = await browser.get("/api/v1/me")
            assert (me.status_code, me.json()["agent_id"]) == (200, "ana")
        async with desk.client() as other:
            again = await other.post("/api/v1/session", json={"link_token": link["token"]})
        assert again.status_code == 401
        assert again.json()["error"] == "sign_in_link_invalid"
        assert "already used or has expired" in again.json()["detail"]

    async def test_the_token_is_stored_only_as_its_digest(self, desk: Desk) -> None:
        link = await self.make_link(desk)
        stored = list(desk.repository.sign_in_links.values())
        assert len(stored) == 1
        assert link["token"] not in repr(stored)

    async def test_a_link_expires(self, desk: Desk) -> None:
        link = await self.make_link(desk)
        desk.clock.now += timedelta(minutes=10)
        async with desk.client() as browser:
            late = await browser.post("/api/v1/session", json={"link_token": link["token"]})
        assert late.status_code == 401
        assert late.json()["error"] == "sign_in_link_invalid"

    async def test_a_link_just_before_it_expires_works(self, desk: Desk) -> None:
        link = await self.make_link(desk)
        desk.clock.now += timedelta(minutes=10) - timedelta(seconds=1)
        async with desk.client() as browser:
            response = await browser.post("/api/v1/session", json={"link_token": link["token"]})
        assert response.status_code == 204

    async def test_a_revoked_key_makes_its_link_useless(self, desk: Desk) -> None:
        link = await self.make_link(desk)
        for doc in desk.repository.keys.values():
            doc["revoked_at"] = desk.clock.now
        async with desk.client() as browser:
            response = await browser.post("/api/v1/session", json={"link_token": link["token"]})
        assert response.status_code == 401

    async def test_only_admins_make_links(self, desk: Desk) -> None:
        for doc in desk.repository.keys.values():
            doc["role"] = "agent"
        async with desk.client(ACME_KEY) as http:
            assert (await http.post("/api/v1/session/links")).status_code == 403

    async def test_the_command_line_makes_one_for_a_key(self, desk: Desk) -> None:
        accounts = AccountService(desk.repository, desk.clock, people=desk.repository)
        link = await accounts.sign_in_link_for_key(GLOBEX_KEY, 600)
        async with desk.client() as browser:
            await browser.post("/api/v1/session", json={"link_token": link.token})
            me = await browser.get("/api/v1/me")
        assert me.json()["tenant_id"] == "globex"


class TestOperatorsEndpoints:
    async def test_metrics_are_not_on_the_api_port(self, desk: Desk) -> None:
        async with desk.client(ACME_KEY) as http:
            assert (await http.get("/metrics")).status_code == 404

    async def test_metrics_are_on_the_ops_app(self, desk: Desk) -> None:
        ops = create_ops_app(create_app(InboxApiSettings()))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=ops),
                                     base_url="http://ops") as http:
            response = await http.get("/metrics")
        assert response.status_code == 200
        assert "inbox_api" in response.text or "python_info" in response.text

    @pytest.mark.parametrize("path", ["/api/v1/openapi.json", "/api/docs"])
    async def test_the_api_docs_are_off_unless_turned_on(self, desk: Desk, path: str) -> None:
        async with desk.client(ACME_KEY) as http:
            assert (await http.get(path)).status_code == 404
        enabled = desk_with(InboxApiSettings(api_docs=True))
        async with enabled.client() as http:
            response = await http.get(path)
        assert response.status_code == 200
        assert response.headers["x-frame-options"] == "DENY"
