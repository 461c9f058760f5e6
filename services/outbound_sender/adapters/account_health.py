"""Meta's account notices that can refuse a send, read from ``account_health`` (written by
conversation_store; ``shared/account_health.py``).

One ``_id $in`` read per number, cached for ``ttl_seconds``: a restriction reaches the sender
within that time (Meta refuses meanwhile anyway), and a campaign's thousands of sends cost one
read. Concurrent sends from one number share a read. The refusal itself is refusals.py's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from pymongo.asynchronous.database import AsyncDatabase

from shared.account_health import ACCOUNT_HEALTH_COLLECTION, Notice, refusing_ids
from shared.channels import Channel
from shared.mongo import Document


class MongoAccountNotices:
    """The restrictions and bans of a number's account and of the number itself."""

    def __init__(self, db: AsyncDatabase[Document], ttl_seconds: float,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.notices_collection = db[ACCOUNT_HEALTH_COLLECTION]
        self.ttl_seconds = ttl_seconds
        self.monotonic = monotonic
        self._cache: dict[str, tuple[float, list[Notice]]] = {}
        self._loading: dict[str, asyncio.Future[list[Notice]]] = {}

    async def notices(self, channel: Channel) -> list[Notice]:
        key = channel.phone_number_id
        cached = self._cache.get(key)
        if cached is not None and self.monotonic() - cached[0] < self.ttl_seconds:
            return cached[1]
        loading = self._loading.get(key)
        if loading is not None:
            return await asyncio.shield(loading)
        future: asyncio.Future[list[Notice]] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            ids = refusing_ids(channel.tenant_id, channel.waba_id, channel.phone_number_id)
            cursor = self.notices_collection.find({"_id": {"$in": ids}})
            found = [Notice.from_document(doc) async for doc in cursor]
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (self.monotonic(), found)
            future.set_result(found)
            return found
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it themselves
            raise
        finally:
            del self._loading[key]
