"""``contact_aliases`` for webhook_ingest: the contact directory's first-writer-wins inserts.

The directory itself (reads, the rule, the LRU cache) is ``shared/contact_directory.py``; the
writes live here so the ownership map sees webhook_ingest write the collection.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.contact_directory import DEFAULT_CAPACITY, ContactDirectory
from shared.contacts import CONTACT_ALIASES_COLLECTION
from shared.mongo import insert_absent


class MongoAliasWrites:
    """Insert-if-absent: a duplicate ``_id`` means another writer was first (kept as is); and the
    conditional move of an alias to a merge's survivor."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.aliases = db[CONTACT_ALIASES_COLLECTION]

    async def insert_absent(self, docs: Sequence[dict[str, Any]]) -> set[str]:
        return await insert_absent(self.aliases, docs)

    async def repoint(self, alias: str, absorbed: str, survivor: str) -> bool:
        """Move an alias to a merge's survivor, only if it still points at the absorbed one."""
        done = await self.aliases.update_one({"_id": alias, "conversation_id": absorbed},
                                             {"$set": {"conversation_id": survivor}})
        return done.matched_count == 1


def contact_directory(
    db: AsyncDatabase[dict[str, Any]],
    *,
    capacity: int = DEFAULT_CAPACITY,
    on_conflict: Callable[[str, str, str], None] | None = None,
) -> ContactDirectory:
    """The process's one directory: its cache serves every webhook."""
    return ContactDirectory(db[CONTACT_ALIASES_COLLECTION], MongoAliasWrites(db),
                            capacity=capacity, on_conflict=on_conflict)
