"""The keys' use cases, for admins: list a tenant's usable keys, make one (its secret shown
once), revoke one (its sessions end at once); and the tenant's numbers, for everyone.

A service key acts under its own name: a new agent id (``svc_...``) unless one is given. An
agent's key carries an agent id of the team; a person with that id decides its role (as every
request re-reads them, accounts/service.py), so the role asked for is stored but theirs wins.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from services.inbox_api.accounts.credentials import Identity, digest, new_api_key
from services.inbox_api.accounts.roles import require_admin
from services.inbox_api.accounts.views import channel_view
from services.inbox_api.errors import InvalidInput, NotFound
from services.inbox_api.keys.ports import ChannelReader, Clock, Document, KeyStore, Roster
from services.inbox_api.keys.schemas import ChannelList, KeyCreated, KeyIn, KeyList, KeyOut
from services.inbox_api.keys.views import digest_prefix, key_view

# How a key starts, kept to tell keys apart in the list ("wai_" and 4 of its 43 random chars).
PREFIX_LENGTH = 8
NO_SUCH_KEY = "No such key in your team (wrong id, or revoked already)."


def new_service_id() -> str:
    return "svc_" + secrets.token_hex(6)


class KeyAdmin:
    """A tenant's API keys, managed by its admins, and its numbers."""

    def __init__(self, store: KeyStore, roster: Roster, channels: ChannelReader,
                 clock: Clock) -> None:
        self.store = store
        self.roster = roster
        self.channels_of = channels
        self.clock = clock

    async def keys(self, admin: Identity) -> KeyList:
        """The tenant's usable keys, newest first, each with the role it acts with."""
        require_admin(admin)
        roles = {a.id: a.role for a in (await self.roster.agents(admin)).items if a.email}
        docs = await self.store.tenant_keys(admin.tenant_id)
        items = [_with_role(key_view(d), roles) for d in docs]
        items.sort(key=lambda k: (k.created_at.timestamp() if k.created_at else 0.0, k.id),
                   reverse=True)
        return KeyList(items=items)

    async def create(self, admin: Identity, body: KeyIn) -> KeyCreated:
        """A new key; 422 naming ``agent_id`` for an agent key without a member of the team."""
        require_admin(admin)
        team = {a.id: a for a in (await self.roster.agents(admin)).items}
        if body.kind == "agent":
            member = team.get(body.agent_id or "")
            if body.agent_id is None:
                raise InvalidInput("An agent's key needs the agent_id of someone in your team.",
                                   code="validation_failed", field="agent_id")
            if member is None or not member.active:
                raise InvalidInput(f"No active agent {body.agent_id!r} in your team.",
                                   code="validation_failed", field="agent_id")
            agent_id = body.agent_id
        else:
            agent_id = body.agent_id or new_service_id()
            known = team.get(agent_id)
            if known is not None and known.kind != "service":
                raise InvalidInput(f"{agent_id!r} is an agent of your team, not a service; "
                                   "make an agent key for them instead.",
                                   code="validation_failed", field="agent_id")
        secret = new_api_key()
        doc: Document = {
            "_id": digest(secret), "tenant_id": admin.tenant_id, "agent_id": agent_id,
            "display_name": body.name.strip(), "kind": body.kind, "role": body.role,
            "prefix": secret[:PREFIX_LENGTH], "created_at": self.clock(),
            "created_by": admin.agent_id, "revoked_at": None}
        await self.store.add_key(doc)
        roles = {a.id: a.role for a in team.values() if a.email}
        view = _with_role(key_view(doc), roles)
        return KeyCreated(**view.model_dump(), secret=secret)

    async def revoke(self, admin: Identity, public_id: str) -> KeyOut:
        """Revoke a key of the admin's tenant (404 otherwise); the sessions made from it end
        at once. An admin may revoke the key they are calling with."""
        require_admin(admin)
        prefix = digest_prefix(public_id)
        found = await self.store.keys_with_prefix(admin.tenant_id, prefix) if prefix else []
        usable = [d for d in found if d.get("revoked_at") is None]
        if len(usable) != 1:
            raise NotFound(NO_SUCH_KEY, code="key_not_found")
        doc = usable[0]
        if not await self.store.revoke_key(admin.tenant_id, doc["_id"], self.clock()):
            raise NotFound(NO_SUCH_KEY, code="key_not_found")
        await self.store.delete_key_sessions(admin.tenant_id, doc["_id"])
        return key_view(doc)

    async def channels(self, caller: Identity) -> ChannelList:
        """The tenant's business numbers (never their access tokens), for every role."""
        found = await self.channels_of.tenant_channels(caller.tenant_id)
        return ChannelList(items=[channel_view(c) for c in found])


def _with_role(key: KeyOut, person_roles: Mapping[str, str]) -> KeyOut:
    role = person_roles.get(key.agent_id)
    if role is None or key.kind != "agent":
        return key
    return key.model_copy(update={"role": "admin" if role == "admin" else "agent"})
