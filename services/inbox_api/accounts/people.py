"""The team's use cases, for admins: invite someone (a one-time link), accept an invitation
(the new person signs in), deactivate someone (their sessions end at once).

An invitation's token is shown once; only its digest is stored, with an expiry
(``INVITATION_LIFETIME``). Accepting uses it once, even when two tabs race.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from services.inbox_api.accounts.credentials import Identity, digest, new_invite_token
from services.inbox_api.accounts.passwords import hash_password, weak_password
from services.inbox_api.accounts.ports import Document, PeopleRepository
from services.inbox_api.accounts.roles import require_admin
from services.inbox_api.accounts.schemas import (
    AgentOut,
    InvitationIn,
    InvitationOut,
    InvitationView,
)
from services.inbox_api.accounts.service import AccountService, person_identity
from services.inbox_api.errors import InvalidInput, NotFound

INVITATION_LIFETIME = timedelta(days=7)
INVITE_PATH = "/#invite="


def invitation_link(token: str) -> str:
    """Where the invitation is accepted, relative to the inbox's address."""
    return INVITE_PATH + token


def new_agent_id() -> str:
    return "agt_" + secrets.token_hex(6)


class PeopleAdmin:
    """A tenant's people, managed by its admins."""

    def __init__(self, accounts: AccountService, people: PeopleRepository) -> None:
        self.accounts = accounts
        self.people = people

    async def invite(self, admin: Identity, body: InvitationIn) -> InvitationOut:
        """A one-time invitation for ``body.email`` (422 ``email_taken`` if already a member)."""
        require_admin(admin)
        email = body.email.strip().casefold()
        await self._email_free(admin.tenant_id, email)
        token, now = new_invite_token(), self.accounts.clock()
        expires_at = now + INVITATION_LIFETIME
        await self.people.add_invitation({
            "_id": digest(token), "tenant_id": admin.tenant_id, "name": body.name.strip(),
            "email": email, "role": body.role, "invited_by": admin.agent_id,
            "created_at": now, "expires_at": expires_at, "accepted_at": None})
        return InvitationOut(token=token, link_path=invitation_link(token), name=body.name.strip(),
                             email=email, role=body.role, expires_at=expires_at)

    async def invitation(self, token: str) -> InvitationView:
        """Who a usable invitation is for (404 when used, expired or wrong)."""
        invitation = await self._usable(token)
        return InvitationView(name=invitation["name"], email=invitation["email"],
                              role=invitation["role"], expires_at=invitation["expires_at"])

    async def _usable(self, token: str) -> Document:
        invitation = await self.people.invitation(digest(token))
        if invitation is None or invitation.get("accepted_at") is not None:
            raise NotFound("This invitation link is not valid (wrong, or used already); ask an "
                           "admin for a new one.", code="invitation_not_found")
        if invitation["expires_at"] <= self.accounts.clock():
            raise NotFound("This invitation has expired; ask an admin for a new one.",
                           code="invitation_expired")
        return invitation

    async def accept(self, token: str, password: str,
                     lifetime_seconds: float) -> tuple[str, AgentOut]:
        """The invited person, created with ``password`` and signed in: a session token."""
        invitation = await self._usable(token)
        now = self.accounts.clock()
        problem = weak_password(password)
        if problem:
            raise InvalidInput(problem, code="weak_password", field="password")
        await self._email_free(invitation["tenant_id"], invitation["email"])
        if not await self.people.take_invitation(digest(token), now):
            raise NotFound("This invitation was used already; sign in instead.",
                           code="invitation_not_found")
        agent_id = new_agent_id()
        person = {"_id": f"{invitation['tenant_id']}:{agent_id}",
                  "tenant_id": invitation["tenant_id"], "agent_id": agent_id,
                  "name": invitation["name"], "email": invitation["email"],
                  "role": invitation["role"], "active": True,
                  "password_hash": hash_password(password), "created_at": now,
                  "invited_by": invitation.get("invited_by")}
        if not await self.people.add_agent(person):
            raise InvalidInput("Someone in this team has this email already.",
                               code="email_taken", field="email")
        identity = person_identity(person)
        session = await self.accounts.start_session(identity, lifetime_seconds)
        return session, AgentOut(id=agent_id, display_name=identity.display_name, kind="agent",
                                 role=identity.role, active=True, email=invitation["email"])

    async def deactivate(self, admin: Identity, agent_id: str) -> AgentOut:
        """Deactivate a person of the admin's tenant (404 if not one of theirs); their keys and
        sessions stop working at once."""
        require_admin(admin)
        if agent_id == admin.agent_id:
            raise InvalidInput("You cannot deactivate yourself; ask another admin.",
                               code="cannot_deactivate_self", field="agent_id")
        listed = {a.id: a for a in (await self.accounts.agents(admin)).items}
        agent = listed.get(agent_id)
        if agent is None:
            raise NotFound("No such agent in your team.", code="agent_not_found")
        await self.people.deactivate_agent(admin.tenant_id, agent_id, self.accounts.clock(),
                                           agent.display_name)
        await self.people.delete_agent_sessions(admin.tenant_id, agent_id)
        return agent.model_copy(update={"active": False})

    async def _email_free(self, tenant_id: str, email: str) -> None:
        if any(p.get("tenant_id") == tenant_id for p in await self.people.agents_by_email(email)):
            raise InvalidInput("Someone in this team has this email already.",
                               code="email_taken", field="email")
