"""The accounts' MongoDB queries: owns ``api_keys``, ``sessions``, ``agents``, ``invitations``,
``sign_in_failures`` (and their indexes) and ``tenant_settings``, reads and upserts
``channels``. Every query of a tenant's data filters on ``tenant_id`` first: that is both the
index prefix and the tenant wall (a sign-in by email, which has no tenant yet, is the
exception). The hot ones sort by their declared shape (shared/read_model.py), whose index a
unit test checks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure

from services.inbox_api.accounts.tenants import TenantSettings, settings_document, settings_of
from shared.channel_tokens import TokenBox
from shared.channels import CHANNELS_COLLECTION, Channel
from shared.mongo import ensure_indexes
from shared.read_model import (
    AGENT_KEYS,
    AGENTS_COLLECTION,
    AGENTS_OF_TENANT,
    INVITATIONS_COLLECTION,
    SIGN_IN_FAILURES_COLLECTION,
    SIGN_IN_LINKS_COLLECTION,
    TENANT_SETTINGS_COLLECTION,
)

Document = dict[str, Any]

API_KEYS = "api_keys"
SESSIONS = "sessions"
# The agents list reads at most this many keys of a tenant (keys, not people: a few per agent).
AGENT_KEYS_SCAN = 5000

INDEXES: dict[str, list[IndexModel]] = {
    API_KEYS: [IndexModel([("tenant_id", ASCENDING), ("agent_id", ASCENDING)],
                          name="tenant_agent")],
    # A person's `_id` is `<tenant>:<agent id>`; an email belongs to one person per tenant.
    AGENTS_COLLECTION: [
        IndexModel([("tenant_id", ASCENDING), ("agent_id", ASCENDING)], name="tenant_agent"),
        IndexModel([("email", ASCENDING), ("tenant_id", ASCENDING)], name="email_tenant",
                   unique=True)],
    SESSIONS: [IndexModel([("tenant_id", ASCENDING), ("agent_id", ASCENDING)],
                          name="tenant_agent")],
}
# The team page reads at most this many people of a tenant.
AGENTS_SCAN = 2000
# Sessions expire by a TTL index where the server has them (MongoDB purges by itself); FerretDB
# v1.24 refuses the option (NotImplemented), so there a plain index serves the same lookups and
# expired sessions are deleted when found at use (docs/inbox-api.md, Decisions).
SESSION_TTL = IndexModel([("expires_at", ASCENDING)], name="expires_at_ttl", expireAfterSeconds=0)
SESSION_PLAIN = IndexModel([("expires_at", ASCENDING)], name="expires_at")
NOT_IMPLEMENTED = 238


class MongoAccountRepository:
    """Credentials' reads and writes, and the tenant's channels."""

    def __init__(self, db: AsyncDatabase[Document], tokens: TokenBox | None = None) -> None:
        self.db = db
        # Seals and opens channels' access tokens (None: fixtures' plaintext only).
        self.tokens = tokens
        self.sessions_expire_by_ttl = False

    async def ensure_indexes(self) -> None:
        await ensure_indexes(self.db, INDEXES)
        self.sessions_expire_by_ttl = await self._ensure_session_expiry()

    async def _ensure_session_expiry(self) -> bool:
        """The TTL index on sessions if the server accepts one (True), else a plain one."""
        sessions = self.db[SESSIONS]
        existing = {ix["name"] async for ix in await sessions.list_indexes()}
        plain = SESSION_PLAIN.document["name"]
        if SESSION_TTL.document["name"] not in existing:
            try:
                await sessions.create_indexes([SESSION_TTL])
            except OperationFailure as exc:
                if exc.code != NOT_IMPLEMENTED:
                    raise
                if plain not in existing:
                    await sessions.create_indexes([SESSION_PLAIN])
                return False
        if plain in existing:
            await sessions.drop_index(plain)  # the TTL index serves the same lookups
        return True

    async def ping(self) -> None:
        await self.db.command("ping")

    # -- credentials ---------------------------------------------------------------------------

    async def api_key(self, key_hash: str) -> Document | None:
        return await self.db[API_KEYS].find_one({"_id": key_hash})

    async def add_api_key(self, doc: Document) -> None:
        await self.db[API_KEYS].insert_one(doc)

    async def revoke_api_key(self, key_hash: str, at: datetime) -> bool:
        result = await self.db[API_KEYS].update_one(
            {"_id": key_hash, "revoked_at": None}, {"$set": {"revoked_at": at}})
        return result.modified_count == 1

    async def session(self, token_hash: str) -> Document | None:
        return await self.db[SESSIONS].find_one({"_id": token_hash})

    async def add_session(self, doc: Document) -> None:
        await self.db[SESSIONS].insert_one(doc)

    async def delete_session(self, token_hash: str) -> None:
        await self.db[SESSIONS].delete_one({"_id": token_hash})

    async def agent_keys(self, tenant_id: str) -> list[Document]:
        """The tenant's usable keys (the index's prefix is tenant_id), by agent id."""
        cursor = (self.db[API_KEYS].find({"tenant_id": tenant_id, "revoked_at": None},
                                         {"agent_id": 1, "display_name": 1, "kind": 1,
                                          "created_at": 1})
                  .sort(AGENT_KEYS.sort_spec).limit(AGENT_KEYS_SCAN))
        return await cursor.to_list(None)

    # -- channels ------------------------------------------------------------------------------

    async def channel(self, phone_number_id: str) -> Channel | None:
        doc = await self.db[CHANNELS_COLLECTION].find_one({"_id": phone_number_id})
        return Channel.from_document(doc, self.tokens) if doc else None

    async def tenant_channels(self, tenant_id: str) -> list[Channel]:
        cursor = self.db[CHANNELS_COLLECTION].find({"tenant_id": tenant_id}).sort("_id", ASCENDING)
        return [Channel.from_document(doc, self.tokens) async for doc in cursor]

    async def reseal_channel_tokens(self) -> tuple[int, int]:
        """Seal each stored token not sealed with the current key (plaintext or an older key);
        (resealed, channels). A token whose key is gone raises ``TokenKeyError``."""
        if self.tokens is None:
            raise ValueError("resealing needs the channel token keys")
        resealed = seen = 0
        async for doc in self.db[CHANNELS_COLLECTION].find({}, {"access_token": 1}):
            seen += 1
            stored = str(doc.get("access_token") or "")
            if self.tokens.needs_reseal(stored):
                await self.db[CHANNELS_COLLECTION].update_one(
                    {"_id": doc["_id"], "access_token": stored},
                    {"$set": {"access_token": self.tokens.seal(self.tokens.open(stored))}})
                resealed += 1
        return resealed, seen

    async def upsert_channel(self, channel: Channel) -> None:
        await self.db[CHANNELS_COLLECTION].replace_one(
            {"_id": channel.phone_number_id}, channel.to_document(self.tokens), upsert=True)

    # -- the tenant's settings -----------------------------------------------------------------

    async def tenant_settings(self, tenant_id: str) -> TenantSettings:
        return settings_of(await self.db[TENANT_SETTINGS_COLLECTION].find_one({"_id": tenant_id}))

    async def put_tenant_settings(self, tenant_id: str, settings: TenantSettings) -> None:
        """The admin command line's write (the API has no settings endpoint)."""
        await self.db[TENANT_SETTINGS_COLLECTION].replace_one(
            {"_id": tenant_id}, settings_document(tenant_id, settings), upsert=True)

    # -- people, invitations, the sign-in throttle's counts ------------------------------------

    async def agent(self, tenant_id: str, agent_id: str) -> Document | None:
        return await self.db[AGENTS_COLLECTION].find_one({"_id": f"{tenant_id}:{agent_id}"})

    async def agents_by_email(self, email: str) -> list[Document]:
        cursor = self.db[AGENTS_COLLECTION].find({"email": email}).limit(100)
        return await cursor.to_list(None)

    async def tenant_agents(self, tenant_id: str) -> list[Document]:
        cursor = (self.db[AGENTS_COLLECTION].find({"tenant_id": tenant_id}, {"password_hash": 0})
                  .sort(AGENTS_OF_TENANT.sort_spec).limit(AGENTS_SCAN))
        return await cursor.to_list(None)

    async def add_agent(self, doc: Document) -> bool:
        """False when the person (or their email, in that tenant) exists already."""
        try:
            await self.db[AGENTS_COLLECTION].insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def deactivate_agent(self, tenant_id: str, agent_id: str, at: datetime,
                               name: str) -> None:
        """Mark the person inactive (a key-only agent gets a record saying so)."""
        await self.db[AGENTS_COLLECTION].update_one(
            {"_id": f"{tenant_id}:{agent_id}"},
            {"$set": {"active": False, "deactivated_at": at},
             "$setOnInsert": {"tenant_id": tenant_id, "agent_id": agent_id, "name": name,
                              "email": None, "role": "agent", "created_at": at}},
            upsert=True)

    async def delete_agent_sessions(self, tenant_id: str, agent_id: str) -> int:
        result = await self.db[SESSIONS].delete_many({"tenant_id": tenant_id,
                                                      "agent_id": agent_id})
        return result.deleted_count

    async def add_sign_in_link(self, doc: Document) -> None:
        await self.db[SIGN_IN_LINKS_COLLECTION].insert_one(doc)

    async def take_sign_in_link(self, token_hash: str) -> Document | None:
        """A sign-in link, removed as it is read: a second use finds nothing."""
        return await self.db[SIGN_IN_LINKS_COLLECTION].find_one_and_delete({"_id": token_hash})

    async def add_invitation(self, doc: Document) -> None:
        await self.db[INVITATIONS_COLLECTION].insert_one(doc)

    async def invitation(self, token_hash: str) -> Document | None:
        return await self.db[INVITATIONS_COLLECTION].find_one({"_id": token_hash})

    async def take_invitation(self, token_hash: str, at: datetime) -> bool:
        """Use an invitation once: False if it was used (or expired) meanwhile."""
        result = await self.db[INVITATIONS_COLLECTION].update_one(
            {"_id": token_hash, "accepted_at": None, "expires_at": {"$gt": at}},
            {"$set": {"accepted_at": at}})
        return result.modified_count == 1

    async def failures(self, keys: list[str]) -> dict[str, list[datetime]]:
        cursor = self.db[SIGN_IN_FAILURES_COLLECTION].find({"_id": {"$in": keys}})
        return {doc["_id"]: list(doc.get("at", [])) async for doc in cursor}

    async def put_failures(self, key: str, at: list[datetime]) -> None:
        """Replace a key's counted failures (none: the key's record goes)."""
        if not at:
            await self.db[SIGN_IN_FAILURES_COLLECTION].delete_one({"_id": key})
            return
        await self.db[SIGN_IN_FAILURES_COLLECTION].replace_one(
            {"_id": key}, {"_id": key, "at": at}, upsert=True)
