"""The account notices' MongoDB query: a tenant's ``account_health`` documents, newest first
(index ``tenant_at``, shared/read_model.py ``ACCOUNT_NOTICES``). A tenant has a handful: one per
account or number and kind of notice."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.account_health import ACCOUNT_HEALTH_COLLECTION
from shared.read_model import ACCOUNT_NOTICES

Document = dict[str, Any]
LIMIT = 200


class MongoNoticeStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db

    async def notices(self, tenant_id: str) -> list[Document]:
        cursor = (self.db[ACCOUNT_HEALTH_COLLECTION].find({"tenant_id": tenant_id})
                  .sort(ACCOUNT_NOTICES.sort_spec).limit(LIMIT))
        return await cursor.to_list(None)
