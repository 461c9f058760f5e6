"""``contact_aliases`` for inbox_api: the directory's first-writer-wins inserts (campaign rows
and new conversations name customers by number or BSUID; shared/contact_directory.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from shared.contact_directory import ContactDirectory
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


def contact_directory(db: AsyncDatabase[dict[str, Any]]) -> ContactDirectory:
    """The process's one directory (its cache is shared by every request)."""
    return ContactDirectory(db[CONTACT_ALIASES_COLLECTION], MongoAliasWrites(db))
