"""The accounts' use cases: who is calling (a bearer key or a session cookie), sign-in and
sign-out, the caller with their tenant's numbers and settings, the tenant's agents."""

from __future__ import annotations

from datetime import timedelta

from services.inbox_api.accounts.credentials import (
    Identity,
    bearer_token,
    digest,
    new_session_token,
)
from services.inbox_api.accounts.ports import AccountRepository, Clock
from services.inbox_api.accounts.schemas import AgentList, Me
from services.inbox_api.accounts.views import agent_list, channel_view, settings_view
from services.inbox_api.errors import Unauthorized


class AccountService:
    """Credentials and the caller's tenant, always inside that tenant."""

    def __init__(self, repository: AccountRepository, clock: Clock) -> None:
        self.repository = repository
        self.clock = clock

    async def authenticate(self, authorization: str | None, session: str | None) -> Identity:
        """The caller of a bearer key (preferred) or a session cookie; else 401."""
        token = bearer_token(authorization)
        if token is not None:
            return await self.identity_of_key(token)
        if authorization:
            raise Unauthorized("The Authorization header must be 'Bearer <api key>'.")
        if session:
            token_hash = digest(session)
            doc = await self.repository.session(token_hash)
            if doc is not None and doc["expires_at"] > self.clock():
                return await self._identity(doc["key_hash"])
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
        return Identity(tenant_id=doc["tenant_id"], agent_id=doc["agent_id"],
                        display_name=doc.get("display_name") or doc["agent_id"],
                        kind="service" if doc.get("kind") == "service" else "agent",
                        key_hash=key_hash)

    async def sign_in(self, api_key: str, lifetime_seconds: float) -> tuple[str, Identity]:
        """A new session for a valid key: the cookie's token (stored hashed)."""
        identity = await self.identity_of_key(api_key)
        token = new_session_token()
        now = self.clock()
        await self.repository.add_session({
            "_id": digest(token), "key_hash": identity.key_hash,
            "tenant_id": identity.tenant_id, "agent_id": identity.agent_id,
            "created_at": now, "expires_at": now + timedelta(seconds=lifetime_seconds)})
        return token, identity

    async def sign_out(self, session: str | None) -> None:
        if session:
            await self.repository.delete_session(digest(session))

    async def me(self, identity: Identity) -> Me:
        channels = await self.repository.tenant_channels(identity.tenant_id)
        settings = await self.repository.tenant_settings(identity.tenant_id)
        return Me(tenant_id=identity.tenant_id, agent_id=identity.agent_id,
                  display_name=identity.display_name, kind=identity.kind,
                  channels=[channel_view(c) for c in channels],
                  settings=settings_view(settings))

    async def agents(self, identity: Identity) -> AgentList:
        return agent_list(await self.repository.agent_keys(identity.tenant_id))
