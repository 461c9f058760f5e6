"""The demo tenant of ``./dev run`` (and of ``docker compose``): the sandbox's business number, its
approved templates, an agent key to sign in with, the demo agent as a person (an admin who signs
in with ``DEMO_EMAIL`` and a generated password), and a few customers who have written in.

``python -m devstack.demo`` seeds the database named by ``MONGODB_URI`` / ``MONGODB_DATABASE`` and
prints the agent key and password, and a single-use sign-in link (``/#signin=...``, valid for ten
minutes) on ``DEMO_INBOX_URL``; the key itself never goes into a URL. The key is kept in a file
beside the data (``.cache/demo-agent-key`` locally, the password beside it in
``demo-agent-password``) so that every run signs in with the same ones; only their digest and
hash are in the database.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from sandbox.catalog import demo_channel, demo_templates
from services.inbox_api.accounts.credentials import digest, looks_like_key, new_api_key
from services.inbox_api.admin import create_agent, sign_in_link
from services.inbox_api.conversations.repository import MongoInboxRepository
from shared.channels import CHANNELS_COLLECTION
from shared.templates import TEMPLATES_COLLECTION, template_doc_id

DEMO_AGENT = "demo-agent"
DEMO_AGENT_NAME = "Demo Agent"
DEMO_EMAIL = "demo@example.com"
# Customers who "wrote in" before the newcomer opened the inbox: (wa_id, name, message).
DEMO_CUSTOMERS: tuple[tuple[str, str, str], ...] = (
    ("16505550101", "Ana Souza", "Hi! Is my order #4471 on its way?"),
    ("447700900123", "Oliver Smith", "Do you deliver on Sundays?"),
    ("5511987654321", "Beatriz Lima", "Olá! Can I change the delivery address?"),
)

Document = dict[str, Any]


@dataclass(frozen=True)
class DemoTenant:
    key: str
    # The demo number has conversations already (an earlier run): no need to stage customers.
    has_conversations: bool
    # The demo agent's password (None: set by an earlier run whose password file is gone).
    password: str | None = None


async def seed(mongodb_uri: str, database: str, key_file: Path | None) -> DemoTenant:
    """Upsert the demo channel, its approved templates and the agent key."""
    channel = demo_channel()
    client: AsyncMongoClient[Document] = AsyncMongoClient(mongodb_uri, tz_aware=True)
    try:
        db = client[database]
        await db[CHANNELS_COLLECTION].replace_one(
            {"_id": channel.phone_number_id}, channel.to_document(), upsert=True)
        for template in demo_templates():
            doc_id = template_doc_id(channel.waba_id, template.name, template.language)
            await db[TEMPLATES_COLLECTION].update_one(
                {"_id": doc_id},
                {"$set": {"status": "APPROVED", "category": template.category},
                 "$setOnInsert": {
                     "tenant_id": channel.tenant_id, "waba_id": channel.waba_id,
                     "template_id": doc_id, "name": template.name,
                     "language": template.language,
                     "components": [{"type": "BODY", "text": template.body_text}]}},
                upsert=True)
        key = _stored_key(key_file) or new_api_key()
        repository = MongoInboxRepository(db)
        if await db["api_keys"].find_one({"_id": digest(key)}) is None:
            await repository.add_api_key({
                "_id": digest(key), "tenant_id": channel.tenant_id, "agent_id": DEMO_AGENT,
                "display_name": DEMO_AGENT_NAME, "kind": "agent",
                "created_at": datetime.now(UTC), "revoked_at": None})
        if key_file is not None:
            _store_key(key_file, key)
        password = await _demo_person(db, channel.tenant_id, key_file)
        existing = await db["conversations"].find_one(
            {"business_phone_number_id": channel.phone_number_id}, {"_id": 1})
        return DemoTenant(key, existing is not None, password)
    finally:
        await client.close()


async def _demo_person(db: Any, tenant: str, key_file: Path | None) -> str | None:
    """The demo agent as a person (an admin, the key's agent id): their password."""
    password_file = key_file.with_name("demo-agent-password") if key_file else None
    stored = (password_file.read_text().strip()
              if password_file is not None and password_file.exists() else None)
    if await db["agents"].find_one({"_id": f"{tenant}:{DEMO_AGENT}"}) is not None:
        return stored
    password = stored or secrets.token_urlsafe(12)
    await create_agent(db, tenant=tenant, email=DEMO_EMAIL, name=DEMO_AGENT_NAME,
                       password=password, role="admin", agent=DEMO_AGENT)
    if password_file is not None:
        _store_key(password_file, password)
    return password


def _store_key(key_file: Path, key: str) -> None:
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text(key + "\n")
    key_file.chmod(0o600)


def _stored_key(key_file: Path | None) -> str | None:
    if key_file is None or not key_file.exists():
        return None
    key = key_file.read_text().strip()
    return key if looks_like_key(key) else None


async def sign_in_url(mongodb_uri: str, database: str, key: str, base_url: str) -> str:
    """A single-use sign-in link for the demo agent's key (``<base_url>/#signin=<token>``)."""
    client: AsyncMongoClient[Document] = AsyncMongoClient(mongodb_uri, tz_aware=True)
    try:
        return await sign_in_link(client[database], key, base_url=base_url)
    finally:
        await client.close()


async def customers_write_in(sandbox_url: str) -> None:
    """A few customers message the demo number through the sandbox (signed webhooks), so the
    inbox has conversations with open windows to reply to."""
    channel = demo_channel()
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=10.0) as client:
        for wa_id, name, text in DEMO_CUSTOMERS:
            response = await client.post("/_sandbox/customer-messages", json={
                "phone_number_id": channel.phone_number_id, "from": wa_id, "name": name,
                "type": "text", "content": text})
            response.raise_for_status()


def main() -> int:
    uri = os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27017/")
    database = os.environ.get("MONGODB_DATABASE", "inbox")
    key_file = os.environ.get("DEMO_KEY_FILE")
    demo = asyncio.run(seed(uri, database, Path(key_file) if key_file else None))
    link = asyncio.run(sign_in_url(uri, database, demo.key,
                                   os.environ.get("DEMO_INBOX_URL", "http://127.0.0.1:8081")))
    print(f"demo tenant {demo_channel().tenant_id!r} ready; sign in once with {link} (valid 10 "
          f"minutes), or as {DEMO_EMAIL} with password "
          f"{demo.password or '(set by an earlier run)'}; agent key: {demo.key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
