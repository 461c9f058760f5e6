"""The accounts' use cases: who is calling (a bearer key or a session cookie), sign-in (an API
key, or an email and password, throttled) and sign-out, the caller with their tenant's numbers
and settings, the tenant's agents.

A person (``agents``) decides over the keys that carry their agent id: every request re-reads
them, so a deactivated person's keys and sessions stop at once, and their role is the key's.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from services.inbox_api.accounts import throttle
from services.inbox_api.accounts.credentials import (
    Identity,
    bearer_token,
    digest,
    new_link_token,
    new_session_token,
    role_of_key,
)
from services.inbox_api.accounts.passwords import burn, verify_password
from services.inbox_api.accounts.ports import AccountRepository, Clock, Document, PeopleRepository
from services.inbox_api.accounts.schemas import AgentList, Me, SignInLinkOut
from services.inbox_api.accounts.views import agent_list, channel_view, settings_view
from services.inbox_api.errors import TooManyRequests, Unauthorized, Unavailable

DEACTIVATED = "Your account was deactivated by an admin of your team."
# Refusals that count towards the throttle: a wrong, revoked or unknown credential (not a
# deactivated person's, which no retry can fix or guess).
COUNTED = frozenset({"invalid_credential", "session_expired", "sign_in_link_invalid"})


class AccountService:
    """Credentials and the caller's tenant, always inside that tenant."""

    def __init__(self, repository: AccountRepository, clock: Clock,
                 people: PeopleRepository | None = None) -> None:
        self.repository = repository
        self.clock = clock
        # None where only keys exist (unit tests wired without a database): no password sign-in.
        self.people = people

    async def authenticate(self, authorization: str | None, session: str | None,
                           client: str | None = None) -> Identity:
        """The caller of a bearer key (preferred) or a session cookie; else 401. A credential
        refused too often (per client address and per the credential's prefix) is throttled:
        429 with Retry-After, before the credential is even looked at."""
        token = bearer_token(authorization)
        presented = token if token is not None else None if authorization else session
        if not presented:
            return await self._authenticate(token, authorization, session)
        keys = _throttle_keys(presented, client)
        await self._refuse_if_throttled(keys, "attempts with this credential")
        try:
            return await self._authenticate(token, authorization, session)
        except Unauthorized as exc:
            if exc.code in COUNTED:
                await self._count_failure(keys)
            raise

    async def _authenticate(self, token: str | None, authorization: str | None,
                            session: str | None) -> Identity:
        if token is not None:
            return await self.identity_of_key(token)
        if authorization:
            raise Unauthorized("The Authorization header must be 'Bearer <api key>'.")
        if session:
            token_hash = digest(session)
            doc = await self.repository.session(token_hash)
            if doc is not None and doc["expires_at"] > self.clock():
                if doc.get("key_hash"):
                    return await self._identity(doc["key_hash"])
                return await self._person(doc["tenant_id"], doc["agent_id"])
            if doc is not None:
                # Expired: gone for good, whether or not the database's TTL purge came by yet.
                await self.repository.delete_session(token_hash)
            raise Unauthorized("Your session has expired; sign in again.",
                               code="session_expired")
        raise Unauthorized("Send an API key (Authorization: Bearer wai_...) or sign in.")

    async def identity_of_key(self, key: str) -> Identity:
        return await self._identity(digest(key))

    async def _identity(self, key_hash: str) -> Identity:
        doc = await self.repository.api_key(key_hash)
        if doc is None or doc.get("revoked_at") is not None:
            raise Unauthorized("This API key is not valid (wrong, or revoked).",
                               code="invalid_credential")
        identity = Identity(tenant_id=doc["tenant_id"], agent_id=doc["agent_id"],
                            display_name=doc.get("display_name") or doc["agent_id"],
                            kind="service" if doc.get("kind") == "service" else "agent",
                            key_hash=key_hash, role=role_of_key(doc))
        if self.people is None:
            return identity
        person = await self.people.agent(identity.tenant_id, identity.agent_id)
        if person is None:
            return identity
        if not person.get("active", True):
            raise Unauthorized(DEACTIVATED, code="agent_deactivated")
        return replace(identity, role="admin" if person.get("role") == "admin" else "agent",
                       display_name=person.get("name") or identity.display_name)

    async def _person(self, tenant_id: str, agent_id: str) -> Identity:
        """The caller of a password session: the person, if still active."""
        person = await self.people.agent(tenant_id, agent_id) if self.people else None
        if person is None or not person.get("active", True):
            raise Unauthorized(DEACTIVATED, code="agent_deactivated")
        return person_identity(person)

    async def sign_in(self, api_key: str, lifetime_seconds: float,
                      client: str | None = None) -> tuple[str, Identity]:
        """A new session for a valid key: the cookie's token (stored hashed)."""
        keys = _throttle_keys(api_key, client)
        await self._refuse_if_throttled(keys, "attempts with this credential")
        try:
            identity = await self.identity_of_key(api_key)
        except Unauthorized:
            await self._count_failure(keys)
            raise
        return await self.start_session(identity, lifetime_seconds), identity

    async def sign_in_link(self, identity: Identity, lifetime_seconds: float) -> SignInLinkOut:
        """A single-use link that signs a browser in as ``identity`` (its key, or the person):
        the token is shown once and stored hashed."""
        token, now = new_link_token(), self.clock()
        expires_at = now + timedelta(seconds=lifetime_seconds)
        await self.repository.add_sign_in_link({
            "_id": digest(token), "key_hash": identity.key_hash or None,
            "tenant_id": identity.tenant_id, "agent_id": identity.agent_id,
            "created_at": now, "expires_at": expires_at})
        return SignInLinkOut(token=token, path=f"/#signin={token}", expires_at=expires_at)

    async def sign_in_link_for_key(self, api_key: str,
                                   lifetime_seconds: float) -> SignInLinkOut:
        """A sign-in link for an API key's agent (the command line, the demo)."""
        return await self.sign_in_link(await self.identity_of_key(api_key), lifetime_seconds)

    async def sign_in_with_link(self, link_token: str, lifetime_seconds: float,
                                client: str | None = None) -> tuple[str, Identity]:
        """A new session for a sign-in link, which is used up; a used, unknown or expired one is
        401 (throttled like any refused credential)."""
        keys = _throttle_keys(link_token, client)
        await self._refuse_if_throttled(keys, "attempts with this credential")
        doc = await self.repository.take_sign_in_link(digest(link_token))
        if doc is None or doc["expires_at"] <= self.clock():
            await self._count_failure(keys)
            raise Unauthorized("This sign-in link was already used or has expired (a link works "
                               "once, for a few minutes); ask for a new one.",
                               code="sign_in_link_invalid")
        identity = await (self._identity(doc["key_hash"]) if doc.get("key_hash")
                          else self._person(doc["tenant_id"], doc["agent_id"]))
        return await self.start_session(identity, lifetime_seconds), identity

    async def sign_in_with_password(self, email: str, password: str, lifetime_seconds: float,
                                    client: str | None = None) -> tuple[str, Identity]:
        """A new session for a person's email and password; throttled after repeated failures
        for that email or from that client (429 with Retry-After)."""
        if self.people is None:
            raise Unavailable("Password sign-in is not available here; use an API key.")
        email = email.strip().casefold()
        keys = [throttle.email_key(email), *([throttle.client_key(client)] if client else [])]
        await self._refuse_if_throttled(keys)
        person = await self._person_with_password(email, password)
        if person is None:
            await self._count_failure(keys)
            raise Unauthorized("Wrong email or password.", code="invalid_credential")
        if not person.get("active", True):
            raise Unauthorized(DEACTIVATED, code="agent_deactivated")
        await self.people.put_failures(keys[0], [])
        identity = person_identity(person)
        return await self.start_session(identity, lifetime_seconds), identity

    async def _person_with_password(self, email: str, password: str) -> Document | None:
        assert self.people is not None
        candidates = [p for p in await self.people.agents_by_email(email)
                      if isinstance(p.get("password_hash"), str)]
        if not candidates:
            burn(password)
        for person in candidates:
            if verify_password(person["password_hash"], password):
                return person
        return None

    async def _refuse_if_throttled(self, keys: list[str],
                                   what: str = "sign-ins for this email") -> None:
        if self.people is None or not keys:
            return
        counted = await self.people.failures(keys)
        now = self.clock()
        waits = [throttle.retry_after(counted.get(key, []), throttle.limit_of(key), now)
                 for key in keys]
        wait = max((w for w in waits if w is not None), default=None)
        if wait is not None:
            raise TooManyRequests(throttle.wait_message(wait, what), code="sign_in_throttled",
                                  retry_after_seconds=wait)

    async def _count_failure(self, keys: list[str]) -> None:
        if self.people is None or not keys:
            return
        counted = await self.people.failures(keys)
        now = self.clock()
        for key in keys:
            await self.people.put_failures(
                key, throttle.after_failure(counted.get(key, []), throttle.limit_of(key), now))

    async def start_session(self, identity: Identity, lifetime_seconds: float) -> str:
        """A new session of ``identity``: the cookie's token (stored hashed). A password session
        has no key: it lasts while the person is active."""
        token = new_session_token()
        now = self.clock()
        await self.repository.add_session({
            "_id": digest(token), "key_hash": identity.key_hash or None,
            "tenant_id": identity.tenant_id, "agent_id": identity.agent_id,
            "created_at": now, "expires_at": now + timedelta(seconds=lifetime_seconds)})
        return token

    async def sign_out(self, session: str | None) -> None:
        if session:
            await self.repository.delete_session(digest(session))

    async def me(self, identity: Identity) -> Me:
        channels = await self.repository.tenant_channels(identity.tenant_id)
        settings = await self.repository.tenant_settings(identity.tenant_id)
        return Me(tenant_id=identity.tenant_id, agent_id=identity.agent_id,
                  display_name=identity.display_name, kind=identity.kind, role=identity.role,
                  channels=[channel_view(c) for c in channels],
                  settings=settings_view(settings))

    async def agents(self, identity: Identity) -> AgentList:
        """The tenant's people and the agents of its keys (with role and whether active)."""
        people = await self.people.tenant_agents(identity.tenant_id) if self.people else []
        return agent_list(await self.repository.agent_keys(identity.tenant_id), people)


def person_identity(person: Document) -> Identity:
    return Identity(tenant_id=person["tenant_id"], agent_id=person["agent_id"],
                    display_name=person.get("name") or person["agent_id"], kind="agent",
                    key_hash="", role="admin" if person.get("role") == "admin" else "agent")



def _throttle_keys(credential: str, client: str | None) -> list[str]:
    """Where a refused credential counts: its prefix, and the client's address."""
    return [throttle.credential_key(credential),
            *([throttle.client_key(client)] if client else [])]
