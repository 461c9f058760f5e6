"""The keys' MongoDB queries, on the accounts' ``api_keys`` and ``sessions`` (their indexes
are the accounts', accounts/repository.py). Every query filters on ``tenant_id``: a key id of
another tenant finds nothing (404)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.read_model import (
    API_KEYS_COLLECTION,
    KEYS_OF_TENANT,
    SESSIONS_COLLECTION,
)

Document = dict[str, Any]

# The Keys section reads at most this many usable keys of a tenant.
KEYS_SCAN = 1000
# A key id is 16 hex digits of a 64-digit digest; "g" sorts after every hex digit.
_AFTER_HEX = "g"


class MongoKeyStore:
    """A tenant's API keys and the sessions made from them."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db

    async def tenant_keys(self, tenant_id: str) -> list[Document]:
        cursor = (self.db[API_KEYS_COLLECTION].find({"tenant_id": tenant_id, "revoked_at": None})
                  .sort(KEYS_OF_TENANT.sort_spec).limit(KEYS_SCAN))
        return await cursor.to_list(None)

    async def keys_with_prefix(self, tenant_id: str, digest_prefix: str) -> list[Document]:
        """The tenant's keys whose digest starts so (one, unless 64 bits collide)."""
        cursor = self.db[API_KEYS_COLLECTION].find(
            {"_id": {"$gte": digest_prefix, "$lt": digest_prefix + _AFTER_HEX},
             "tenant_id": tenant_id}).limit(2)
        return await cursor.to_list(None)

    async def add_key(self, doc: Document) -> None:
        await self.db[API_KEYS_COLLECTION].insert_one(doc)

    async def revoke_key(self, tenant_id: str, key_hash: str, at: datetime) -> bool:
        result = await self.db[API_KEYS_COLLECTION].update_one(
            {"_id": key_hash, "tenant_id": tenant_id, "revoked_at": None},
            {"$set": {"revoked_at": at}})
        return result.modified_count == 1

    async def delete_key_sessions(self, tenant_id: str, key_hash: str) -> int:
        result = await self.db[SESSIONS_COLLECTION].delete_many(
            {"tenant_id": tenant_id, "key_hash": key_hash})
        return result.deleted_count
