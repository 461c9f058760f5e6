"""inbox_api's own MongoDB queries on the real database: session expiry, agents, numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.inbox_api.accounts.credentials import digest
from services.inbox_api.accounts.repository import SESSIONS
from services.inbox_api.admin import create_key, create_tenant, revoke_key
from services.inbox_api.conversations.repository import MongoInboxRepository
from services.inbox_api.conversations.service import InboxQueries

pytestmark = pytest.mark.integration


async def is_ferretdb(db: AsyncDatabase[dict[str, Any]]) -> bool:
    return "ferretdbVersion" in await db.client.admin.command("buildInfo")


async def test_sessions_expire_by_ttl_where_the_server_has_it(
        db: AsyncDatabase[dict[str, Any]]) -> None:
    repository = MongoInboxRepository(db)
    await repository.ensure_indexes()
    await repository.ensure_indexes()  # idempotent: a restart changes nothing
    indexes = {ix["name"]: ix async for ix in await db[SESSIONS].list_indexes()}
    if await is_ferretdb(db):
        # FerretDB v1.24.2 answers NotImplemented to expireAfterSeconds: a plain index instead.
        assert repository.sessions_expire_by_ttl is False
        assert "expires_at" in indexes
        assert "expires_at_ttl" not in indexes
    else:
        assert repository.sessions_expire_by_ttl is True
        assert indexes["expires_at_ttl"]["expireAfterSeconds"] == 0
        assert "expires_at" not in indexes


async def test_an_expired_session_is_deleted_when_used(
        db: AsyncDatabase[dict[str, Any]]) -> None:
    repository = MongoInboxRepository(db)
    await repository.ensure_indexes()
    key = await create_tenant(db, tenant="acme", phone_number_id="1001", waba_id="2001",
                              agent="ana")
    now = datetime.now(UTC)
    queries = InboxQueries(repository, lambda: now)
    token, _ = await queries.sign_in(key, lifetime_seconds=60)
    assert (await queries.authenticate(None, token)).agent_id == "ana"
    later = InboxQueries(repository, lambda: now + timedelta(minutes=2))
    with pytest.raises(Exception, match="expired"):
        await later.authenticate(None, token)
    assert await db[SESSIONS].find_one({"_id": digest(token)}) is None


async def test_agents_and_numbers_stay_inside_the_tenant(
        db: AsyncDatabase[dict[str, Any]]) -> None:
    repository = MongoInboxRepository(db)
    await repository.ensure_indexes()
    await create_tenant(db, tenant="acme", phone_number_id="1001", waba_id="2001", agent="ana",
                        name="Ana", display_number="15550001001", access_token="secret-1")
    await create_tenant(db, tenant="acme", phone_number_id="1003", waba_id="2001", agent="ana",
                        name="Ana", display_number="15550001003", access_token="secret-3")
    await create_tenant(db, tenant="globex", phone_number_id="1002", waba_id="2002",
                        agent="gus", name="Gus")
    await create_key(db, tenant="acme", agent="bea", name="Bea")
    gone = await create_key(db, tenant="acme", agent="old", name="Old")
    assert await revoke_key(db, gone)
    await create_key(db, tenant="acme", agent="bot", name="Order bot", kind="service")

    agents = [(a["agent_id"], a["display_name"]) for a in await repository.agent_keys("acme")]
    assert sorted(set(agents)) == [("ana", "Ana"), ("bea", "Bea"), ("bot", "Order bot")]
    channels = await repository.tenant_channels("acme")
    assert [(c.phone_number_id, c.display_phone_number) for c in channels] == [
        ("1001", "15550001001"), ("1003", "15550001003")]
