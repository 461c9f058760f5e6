"""``contact_aliases`` for webhook_ingest: the contact directory's first-writer-wins inserts.

The directory itself (reads, the rule, the LRU cache) is ``shared/contact_directory.py``; the
writes live here so the ownership map sees webhook_ingest write the collection.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from shared.contact_directory import DEFAULT_CAPACITY, ContactDirectory
from shared.contacts import CONTACT_ALIASES_COLLECTION

_DUPLICATE_KEY = 11000


class MongoAliasWrites:
    """Insert-if-absent: a duplicate ``_id`` means another writer was first (kept as is)."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.aliases = db[CONTACT_ALIASES_COLLECTION]

    async def insert_absent(self, docs: Sequence[dict[str, Any]]) -> set[str]:
        if not docs:
            return set()
        try:
            await self.aliases.insert_many(list(docs), ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if not errors or any(e.get("code") != _DUPLICATE_KEY for e in errors):
                raise
            return {str(docs[e["index"]]["_id"]) for e in errors}
        return set()


def contact_directory(
    db: AsyncDatabase[dict[str, Any]],
    *,
    capacity: int = DEFAULT_CAPACITY,
    on_conflict: Callable[[str, str, str], None] | None = None,
) -> ContactDirectory:
    """The process's one directory: its cache serves every webhook."""
    return ContactDirectory(db[CONTACT_ALIASES_COLLECTION], MongoAliasWrites(db),
                            capacity=capacity, on_conflict=on_conflict)
