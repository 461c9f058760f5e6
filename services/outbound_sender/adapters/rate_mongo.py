"""The shared per-number buckets in MongoDB (``send_rate_buckets``; rules in shared_rate.py).

One document per business number: ``{_id: phone_number_id, tokens, updated, version}``. A lease
reads the document by ``_id``, computes the grant in Python, and writes it back with
``find_one_and_update`` filtered on ``{_id, version}`` (a compare-and-set: another replica's
write in between makes it match nothing, and the lease is computed again). The first lease of a
number inserts its document; a duplicate ``_id`` means another replica did, so it reads again.
Only ``_id`` lookups and no projection in ``findAndModify`` (FerretDB v1 refuses one).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.outbound_sender.shared_rate import BucketState, Grant, lease
from shared.mongo import Document
from shared.read_model import SEND_RATE_BUCKETS_COLLECTION

RATE_BUCKETS = SEND_RATE_BUCKETS_COLLECTION
# Compare-and-set rounds before giving up for now (the pacer asks again a moment later).
MAX_ROUNDS = 8


class MongoRateBuckets:
    """Leases whole tokens of a number's shared bucket."""

    def __init__(self, db: AsyncDatabase[Document],
                 wall_clock: Callable[[], float] = time.time) -> None:
        self._collection = db[RATE_BUCKETS]
        self._now = wall_clock
        self.conflicts = 0
        # The state this replica last wrote, per number: tried first, without a read (one round
        # trip instead of two while no other replica leased meanwhile).
        self._known: dict[str, BucketState] = {}

    async def lease(self, number: str, rate: float, capacity: float, want: int) -> Grant:
        grant = Grant(0, BucketState(0.0, self._now()), 1.0 / rate)
        known = self._known.pop(number, None)
        for _ in range(MAX_ROUNDS):
            if known is not None:
                state: BucketState | None = known
                known = None
            else:
                doc = await self._collection.find_one({"_id": number})
                state = None if doc is None else BucketState(
                    float(doc["tokens"]), float(doc["updated"]), int(doc["version"]))
            grant = lease(state, self._now(), rate, capacity, want)
            if grant.granted == 0:
                return grant
            new = {"tokens": grant.state.tokens, "updated": grant.state.updated,
                   "version": grant.state.version}
            if state is None:
                try:
                    await self._collection.insert_one({"_id": number, **new})
                except DuplicateKeyError:
                    self.conflicts += 1
                    continue
                self._known[number] = grant.state
                return grant
            written = await self._collection.find_one_and_update(
                {"_id": number, "version": state.version}, {"$set": new},
                return_document=ReturnDocument.AFTER)
            if written is not None:
                self._known[number] = grant.state
                return grant
            self.conflicts += 1
        return Grant(0, grant.state, 1.0 / rate)
