"""Tenants, their settings, channels, API keys and people from the command line (keys,
passwords and invitation links are printed once, stored hashed).

::

    python -m services.inbox_api.admin create-tenant --tenant acme --phone-number-id 1000 \\
        --waba-id 2000 --display-number 15550001111 --access-token TOKEN --agent ana --name Ana \\
        --email ana@acme.test
    python -m services.inbox_api.admin create-key --tenant acme --agent bot --service
    python -m services.inbox_api.admin invite --tenant acme --email bea@acme.test --name Bea
    python -m services.inbox_api.admin create-agent --tenant acme --email cy@acme.test --name Cy \\
        --role admin
    python -m services.inbox_api.admin revoke-key --key wai_...
    python -m services.inbox_api.admin sign-in-link --key wai_...   # single use, 10 minutes
    python -m services.inbox_api.admin set-tenant --tenant acme --read-receipts off
    python -m services.inbox_api.admin reencrypt-tokens   # after adding a CHANNEL_TOKEN_KEYS key

The functions are plain async ones too, so tests and ``./dev run`` call them in-process.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import SecretStr
from pymongo.asynchronous.database import AsyncDatabase

from services.inbox_api.accounts.credentials import Identity, Role, digest, new_api_key
from services.inbox_api.accounts.passwords import hash_password, weak_password
from services.inbox_api.accounts.people import PeopleAdmin, new_agent_id
from services.inbox_api.accounts.repository import MongoAccountRepository
from services.inbox_api.accounts.schemas import InvitationIn
from services.inbox_api.accounts.service import AccountService
from services.inbox_api.accounts.tenant_ids import ReservedTenantId, check_tenant_id
from services.inbox_api.accounts.tenants import TenantSettings
from services.inbox_api.audit.repository import MongoAuditStore
from services.inbox_api.audit.service import new_entry
from services.inbox_api.errors import InboxApiError
from services.inbox_api.settings import InboxApiSettings
from shared.channel_tokens import DEVELOPMENT_KEY, TokenBox, token_box
from shared.channels import Channel
from shared.config import ConfigError, load_settings
from shared.mongo import database, make_client

Document = dict[str, Any]


DEFAULT_BASE_URL = "http://127.0.0.1:8081"


async def create_key(db: AsyncDatabase[Document], *, tenant: str, agent: str,
                     name: str | None = None,
                     kind: Literal["agent", "service"] = "agent", role: Role = "agent") -> str:
    """A new API key for ``agent`` of ``tenant``; only its digest is stored. A person with that
    agent id (``agents``) decides the role instead, and deactivating them stops the key."""
    key = new_api_key()
    await MongoAccountRepository(db).add_api_key({
        "_id": digest(key), "tenant_id": tenant, "agent_id": agent,
        "display_name": name or agent, "kind": kind, "role": role,
        "created_at": datetime.now(UTC), "revoked_at": None})
    return key


async def invite(db: AsyncDatabase[Document], *, tenant: str, email: str, name: str,
                 role: Role = "agent", base_url: str = DEFAULT_BASE_URL) -> str:
    """A one-time invitation link (as an admin's from the Team page)."""
    repository = MongoAccountRepository(db)
    admin = Identity(tenant_id=tenant, agent_id="admin-cli", display_name="command line",
                     kind="service", key_hash="", role="admin")
    people = PeopleAdmin(AccountService(repository, _now, people=repository), repository)
    made = await people.invite(admin, InvitationIn(name=name, email=email, role=role))
    return base_url.rstrip("/") + made.link_path


async def create_agent(db: AsyncDatabase[Document], *, tenant: str, email: str, name: str,
                       password: str, role: Role = "agent", agent: str | None = None) -> str:
    """A person who signs in with ``email`` and ``password`` (for a first admin, or a test);
    their agent id. ``agent``: an id that keys carry already (those keys then follow them)."""
    problem = weak_password(password)
    if problem:
        raise ValueError(problem)
    email = email.strip().casefold()
    repository = MongoAccountRepository(db)
    if any(p["tenant_id"] == tenant for p in await repository.agents_by_email(email)):
        raise ValueError(f"{email} is in {tenant} already")
    agent_id = agent or new_agent_id()
    if not await repository.add_agent({
            "_id": f"{tenant}:{agent_id}", "tenant_id": tenant, "agent_id": agent_id,
            "name": name, "email": email, "role": role, "active": True,
            "password_hash": hash_password(password), "created_at": _now()}):
        raise ValueError(f"agent {agent_id} (or {email}) exists in {tenant} already")
    return agent_id


def _now() -> datetime:
    return datetime.now(UTC)


async def revoke_key(db: AsyncDatabase[Document], key: str) -> bool:
    """Revoke a key (its sessions end too); False if it was unknown or already revoked."""
    return await MongoAccountRepository(db).revoke_api_key(digest(key), datetime.now(UTC))


async def sign_in_link(db: AsyncDatabase[Document], key: str, *,
                       base_url: str = DEFAULT_BASE_URL,
                       lifetime: timedelta = timedelta(minutes=10)) -> str:
    """A single-use sign-in link (``<base_url>/#signin=<token>``) for ``key``'s agent, valid for
    ``lifetime``; the key itself never goes into a URL."""
    accounts = AccountService(MongoAccountRepository(db), _now)
    link = await accounts.sign_in_link_for_key(key, lifetime.total_seconds())
    return base_url.rstrip("/") + link.path


async def create_tenant(db: AsyncDatabase[Document], *, tenant: str, phone_number_id: str,
                        waba_id: str, agent: str, display_number: str = "",
                        access_token: str = "", throughput: int = 80,
                        name: str | None = None, tokens: TokenBox | None = None) -> str:
    """The tenant's channel (upserted in ``channels``, its token sealed with ``tokens``, the
    development key by default) and a first agent key. A reserved tenant id is refused
    (:class:`ReservedTenantId`)."""
    check_tenant_id(tenant)
    channel = Channel(phone_number_id=phone_number_id, tenant_id=tenant, waba_id=waba_id,
                      display_phone_number=display_number,
                      access_token=SecretStr(access_token), throughput_mps=throughput)
    await MongoAccountRepository(db, tokens or TokenBox([DEVELOPMENT_KEY])).upsert_channel(channel)
    return await create_key(db, tenant=tenant, agent=agent, name=name, role="admin")


async def reencrypt_tokens(db: AsyncDatabase[Document], tokens: TokenBox) -> tuple[int, int]:
    """Seal every channel's token with the current (first) key: plaintext documents and those
    sealed with an older key (rotation, docs/security.md). (resealed, channels) counted."""
    return await MongoAccountRepository(db, tokens).reseal_channel_tokens()


async def set_tenant_settings(db: AsyncDatabase[Document], *, tenant: str,
                              read_receipts: bool | None = None) -> TenantSettings:
    """Change the tenant's settings (only those given); returns them as now stored."""
    repository = MongoAccountRepository(db)
    settings = await repository.tenant_settings(tenant)
    if read_receipts is not None:
        settings = replace(settings, read_receipts=read_receipts)
    await repository.put_tenant_settings(tenant, settings)
    return settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m services.inbox_api.admin",
                                     description="Manage inbox tenants and API keys.")
    commands = parser.add_subparsers(dest="command", required=True)
    tenant = commands.add_parser("create-tenant", help="a tenant's channel and a first key")
    tenant.add_argument("--tenant", required=True)
    tenant.add_argument("--phone-number-id", required=True)
    tenant.add_argument("--waba-id", required=True)
    tenant.add_argument("--display-number", default="")
    tenant.add_argument("--access-token", default="")
    tenant.add_argument("--throughput", type=int, default=80)
    tenant.add_argument("--agent", required=True)
    tenant.add_argument("--name")
    tenant.add_argument("--email", help="the first admin's email: prints their invitation link")
    tenant.add_argument("--base-url", default=DEFAULT_BASE_URL)
    key = commands.add_parser("create-key", help="another key for an agent or a service")
    key.add_argument("--tenant", required=True)
    key.add_argument("--agent", required=True)
    key.add_argument("--name")
    key.add_argument("--service", action="store_true", help="a service credential")
    key.add_argument("--role", choices=("admin", "agent"), default="agent")
    for name, help_ in (("invite", "a one-time invitation link for a new person"),
                        ("create-agent", "a person with a password (printed)")):
        person = commands.add_parser(name, help=help_)
        person.add_argument("--tenant", required=True)
        person.add_argument("--email", required=True)
        person.add_argument("--name", required=True)
        person.add_argument("--role", choices=("admin", "agent"), default="agent")
        if name == "invite":
            person.add_argument("--base-url", default=DEFAULT_BASE_URL,
                                help="the web inbox's address, for the link")
        else:
            person.add_argument("--agent", help="an agent id keys carry already")
    commands.add_parser("reencrypt-tokens",
                        help="seal every channel token with the first CHANNEL_TOKEN_KEYS key")
    revoke = commands.add_parser("revoke-key", help="revoke a key")
    revoke.add_argument("--key", required=True)
    link = commands.add_parser("sign-in-link", help="a single-use sign-in link for a key")
    link.add_argument("--key", required=True)
    link.add_argument("--base-url", default=DEFAULT_BASE_URL)
    settings = commands.add_parser("set-tenant", help="the tenant's settings")
    settings.add_argument("--tenant", required=True)
    settings.add_argument("--read-receipts", choices=("on", "off"),
                          help="WhatsApp read receipts and typing indicator (default on)")
    return parser


async def _run(args: argparse.Namespace, settings: InboxApiSettings) -> int:
    client = make_client(settings, app_name="inbox_api-admin")
    try:
        db = database(client, settings)
        if args.command == "create-tenant":
            try:
                key = await create_tenant(
                    db, tenant=args.tenant, phone_number_id=args.phone_number_id,
                    waba_id=args.waba_id, display_number=args.display_number,
                    access_token=args.access_token, throughput=args.throughput,
                    agent=args.agent, name=args.name,
                    tokens=token_box(settings.channel_token_keys))
            except ReservedTenantId as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            if args.email:
                print(key)
                print("admin invitation:", await invite(
                    db, tenant=args.tenant, email=args.email, name=args.name or args.agent,
                    role="admin", base_url=args.base_url))
                return 0
        elif args.command == "reencrypt-tokens":
            counts = await reencrypt_tokens(db, token_box(settings.channel_token_keys))
            print(f"resealed {counts[0]} of {counts[1]} channel tokens")
            return 0
        elif args.command in ("invite", "create-agent"):
            return await _person(db, args)
        elif args.command == "sign-in-link":
            try:
                print(await sign_in_link(db, args.key, base_url=args.base_url,
                                         lifetime=settings.sign_in_link_lifetime))
            except InboxApiError as exc:
                print(f"error: {exc.detail}", file=sys.stderr)
                return 1
            return 0
        elif args.command == "set-tenant":
            read_receipts = None if args.read_receipts is None else args.read_receipts == "on"
            chosen = await set_tenant_settings(db, tenant=args.tenant,
                                               read_receipts=read_receipts)
            print(f"read_receipts: {'on' if chosen.read_receipts else 'off'}")
            return 0
        elif args.command == "create-key":
            key = await create_key(db, tenant=args.tenant, agent=args.agent, name=args.name,
                                   kind="service" if args.service else "agent", role=args.role)
            await _audited(db, args.tenant, "key.create", args.agent,
                           {"kind": "service" if args.service else "agent", "role": args.role})
        else:
            known = await MongoAccountRepository(db).api_key(digest(args.key))
            if not await revoke_key(db, args.key):
                print("error: no such active key", file=sys.stderr)
                return 1
            if known:
                await _audited(db, known.get("tenant_id"), "key.revoke",
                               str(known.get("agent_id") or ""), {})
            print("revoked")
            return 0
        print(key)
        return 0
    finally:
        await client.close()


async def _audited(db: AsyncDatabase[Document], tenant: str | None, action: str, agent: str,
                   summary: dict[str, Any]) -> None:
    """A key change made here is in the tenant's audit log too (by "command line")."""
    entry = new_entry(tenant_id=tenant, at=_now(), who=None, action=action, method="CLI",
                      route="inbox_api.admin", target={"agent_id": agent}, summary=summary,
                      status=0)
    await MongoAuditStore(db).add_many([{**entry, "agent_name": "command line"}])


async def _person(db: AsyncDatabase[Document], args: argparse.Namespace) -> int:
    try:
        if args.command == "invite":
            print(await invite(db, tenant=args.tenant, email=args.email, name=args.name,
                               role=args.role, base_url=args.base_url))
            return 0
        password = secrets.token_urlsafe(12)
        agent_id = await create_agent(db, tenant=args.tenant, email=args.email, name=args.name,
                                      password=password, role=args.role, agent=args.agent)
    except (ValueError, InboxApiError) as exc:
        print(f"error: {getattr(exc, 'detail', exc)}", file=sys.stderr)
        return 1
    print(f"agent {agent_id}: sign in as {args.email.strip().casefold()} with password "
          f"{password}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(InboxApiSettings)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_run(args, settings))


if __name__ == "__main__":
    raise SystemExit(main())
