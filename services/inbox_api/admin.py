"""Tenants, their settings, channels and API keys from the command line (keys are printed
once, stored hashed).

::

    python -m services.inbox_api.admin create-tenant --tenant acme --phone-number-id 1000 \\
        --waba-id 2000 --display-number 15550001111 --access-token TOKEN --agent ana --name Ana
    python -m services.inbox_api.admin create-key --tenant acme --agent bot --service
    python -m services.inbox_api.admin revoke-key --key wai_...
    python -m services.inbox_api.admin set-tenant --tenant acme --read-receipts off

The functions are plain async ones too, so tests and ``./dev run`` call them in-process.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import SecretStr
from pymongo.asynchronous.database import AsyncDatabase

from services.inbox_api.accounts.credentials import digest, new_api_key
from services.inbox_api.accounts.repository import MongoAccountRepository
from services.inbox_api.accounts.tenants import TenantSettings
from services.inbox_api.settings import InboxApiSettings
from shared.channels import Channel
from shared.config import ConfigError, load_settings
from shared.mongo import database, make_client

Document = dict[str, Any]


async def create_key(db: AsyncDatabase[Document], *, tenant: str, agent: str,
                     name: str | None = None,
                     kind: Literal["agent", "service"] = "agent") -> str:
    """A new API key for ``agent`` of ``tenant``; only its digest is stored."""
    key = new_api_key()
    await MongoAccountRepository(db).add_api_key({
        "_id": digest(key), "tenant_id": tenant, "agent_id": agent,
        "display_name": name or agent, "kind": kind, "created_at": datetime.now(UTC),
        "revoked_at": None})
    return key


async def revoke_key(db: AsyncDatabase[Document], key: str) -> bool:
    """Revoke a key (its sessions end too); False if it was unknown or already revoked."""
    return await MongoAccountRepository(db).revoke_api_key(digest(key), datetime.now(UTC))


async def create_tenant(db: AsyncDatabase[Document], *, tenant: str, phone_number_id: str,
                        waba_id: str, agent: str, display_number: str = "",
                        access_token: str = "", throughput: int = 80,
                        name: str | None = None) -> str:
    """The tenant's channel (upserted in ``channels``) and a first agent key."""
    channel = Channel(phone_number_id=phone_number_id, tenant_id=tenant, waba_id=waba_id,
                      display_phone_number=display_number,
                      access_token=SecretStr(access_token), throughput_mps=throughput)
    await MongoAccountRepository(db).upsert_channel(channel)
    return await create_key(db, tenant=tenant, agent=agent, name=name)


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
    key = commands.add_parser("create-key", help="another key for an agent or a service")
    key.add_argument("--tenant", required=True)
    key.add_argument("--agent", required=True)
    key.add_argument("--name")
    key.add_argument("--service", action="store_true", help="a service credential")
    revoke = commands.add_parser("revoke-key", help="revoke a key")
    revoke.add_argument("--key", required=True)
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
            key = await create_tenant(
                db, tenant=args.tenant, phone_number_id=args.phone_number_id,
                waba_id=args.waba_id, display_number=args.display_number,
                access_token=args.access_token, throughput=args.throughput, agent=args.agent,
                name=args.name)
        elif args.command == "set-tenant":
            read_receipts = None if args.read_receipts is None else args.read_receipts == "on"
            chosen = await set_tenant_settings(db, tenant=args.tenant,
                                               read_receipts=read_receipts)
            print(f"read_receipts: {'on' if chosen.read_receipts else 'off'}")
            return 0
        elif args.command == "create-key":
            key = await create_key(db, tenant=args.tenant, agent=args.agent, name=args.name,
                                   kind="service" if args.service else "agent")
        else:
            if not await revoke_key(db, args.key):
                print("error: no such active key", file=sys.stderr)
                return 1
            print("revoked")
            return 0
        print(key)
        return 0
    finally:
        await client.close()


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
