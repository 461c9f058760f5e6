"""The teams' MongoDB code: owns ``teams`` (and its index) and ``round_robin`` (one document per
tenant: ``enabled``, ``members`` in turn order, and ``counter``, the pointer conversation_store
advances atomically; docs/inbox-api.md). Every query filters on ``tenant_id`` (or is the
tenant's own ``_id``)."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from shared.mongo import ensure_indexes
from shared.read_model import ROUND_ROBIN_COLLECTION, TEAMS_COLLECTION, TEAMS_OF_TENANT

Document = dict[str, Any]

# A tenant's teams are few (a page shows them all); this bounds the read all the same.
TEAMS_SCAN = 500

INDEXES: dict[str, list[IndexModel]] = {
    TEAMS_COLLECTION: [IndexModel([("tenant_id", ASCENDING), ("name_key", ASCENDING)],
                                  name="tenant_name")],
}


class MongoTeamRepository:
    """Teams and the tenant's rotation."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db

    async def ensure_indexes(self) -> None:
        await ensure_indexes(self.db, INDEXES)

    async def teams(self, tenant_id: str) -> list[Document]:
        cursor = (self.db[TEAMS_COLLECTION].find({"tenant_id": tenant_id})
                  .sort(TEAMS_OF_TENANT.sort_spec).limit(TEAMS_SCAN))
        return await cursor.to_list(None)

    async def team(self, tenant_id: str, team_id: str) -> Document | None:
        return await self.db[TEAMS_COLLECTION].find_one({"_id": team_id, "tenant_id": tenant_id})

    async def add_team(self, doc: Document) -> None:
        await self.db[TEAMS_COLLECTION].insert_one(doc)

    async def update_team(self, tenant_id: str, team_id: str, name: str,
                          member_ids: list[str]) -> bool:
        result = await self.db[TEAMS_COLLECTION].update_one(
            {"_id": team_id, "tenant_id": tenant_id},
            {"$set": {"name": name, "name_key": name.casefold(), "member_ids": member_ids}})
        return result.matched_count == 1

    async def delete_team(self, tenant_id: str, team_id: str) -> bool:
        result = await self.db[TEAMS_COLLECTION].delete_one(
            {"_id": team_id, "tenant_id": tenant_id})
        return result.deleted_count == 1

    # -- the rotation --------------------------------------------------------------------------

    async def rotation(self, tenant_id: str) -> Document | None:
        return await self.db[ROUND_ROBIN_COLLECTION].find_one({"_id": tenant_id})

    async def set_rotation(self, tenant_id: str, enabled: bool,
                           members: list[str] | None) -> None:
        fields: Document = {"enabled": enabled}
        if members is not None:
            fields["members"] = members
        await self.db[ROUND_ROBIN_COLLECTION].update_one(
            {"_id": tenant_id}, {"$set": fields}, upsert=True)

    async def set_available(self, tenant_id: str, agent_id: str, available: bool) -> None:
        # $addToSet / $pull: two agents opting in at once both end up in the rotation.
        change = ({"$addToSet": {"members": agent_id}} if available
                  else {"$pull": {"members": agent_id}})
        await self.db[ROUND_ROBIN_COLLECTION].update_one({"_id": tenant_id}, change, upsert=True)
