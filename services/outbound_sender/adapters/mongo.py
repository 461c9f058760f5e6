"""The sender's database code: the send ledger (inserts only), conversation windows, templates.

Every query is a bare ``_id`` lookup and every write an insert: the only shapes FerretDB v1 (the
local stand-in) runs without scanning a collection in Go. Hot-path inserts from many concurrent
sends are grouped into ``insert_many(ordered=False)`` calls (:class:`InsertBatcher`); a
duplicate ``_id`` comes back as a per-document answer, which is exactly the ledger's arbiter.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from services.outbound_sender.ledger import Claim, LedgerView, Outcome, RetryMark
from services.outbound_sender.ports import StoredWindow
from shared.channels import CHANNELS_COLLECTION, ChannelDirectory, ChannelLookup
from shared.mongo import Document
from shared.templates import TEMPLATES_COLLECTION, template_doc_id

log = logging.getLogger(__name__)

ATTEMPTS = "send_attempts"
RETRIES = "send_retries"
OUTCOMES = "send_outcomes"
CONVERSATIONS = "conversations"
DUPLICATE_KEY = 11000
NOT_IMPLEMENTED = 238


class InsertBatcher:
    """Concurrent single-document inserts, sent as a few ``insert_many`` calls."""

    def __init__(self, collection: AsyncCollection[Document], max_batch: int = 500,
                 concurrency: int = 2) -> None:
        self.collection = collection
        self.max_batch = max_batch
        self.concurrency = concurrency
        self._pending: list[tuple[Document, asyncio.Future[bool]]] = []
        self._flushers = 0

    async def insert(self, doc: Document) -> bool:
        """True if inserted, False if a document with that ``_id`` exists."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((doc, future))
        if self._flushers < self.concurrency:
            self._flushers += 1
            asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch = self._pending[:self.max_batch]
                del self._pending[:self.max_batch]
                await self._insert(batch)
        finally:
            self._flushers -= 1

    async def _insert(self, batch: list[tuple[Document, asyncio.Future[bool]]]) -> None:
        failed: dict[int, BaseException | None] = {}
        try:
            await self.collection.insert_many([doc for doc, _ in batch], ordered=False)
        except BulkWriteError as exc:
            for error in exc.details.get("writeErrors", []):
                code = error.get("code")
                failed[error["index"]] = None if code == DUPLICATE_KEY else OperationFailure(
                    error.get("errmsg", "write error"), code)
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for index, (_, future) in enumerate(batch):
            if future.done():
                continue
            if index not in failed:
                future.set_result(True)
            elif failed[index] is None:
                future.set_result(False)
            else:
                future.set_exception(failed[index])  # type: ignore[arg-type]


class MongoLedger:
    """The send ledger (ledger.py) in three collections; documents expire after ``retention``."""

    def __init__(self, db: AsyncDatabase[Document], retention: timedelta,
                 clock: Callable[[], datetime], max_batch: int = 500) -> None:
        self.db = db
        self.clock = clock
        self.attempts = db[ATTEMPTS]
        self.retries = db[RETRIES]
        self.outcomes = db[OUTCOMES]
        self.retention = retention
        self._claims = InsertBatcher(self.attempts, max_batch)
        self._outcomes = InsertBatcher(self.outcomes, max_batch)

    async def ensure_indexes(self) -> None:
        """Expire ledger documents after the retention (MongoDB's TTL monitor). The local
        FerretDB accepts no TTL option everywhere: then documents are kept, with a warning."""
        for collection in (self.attempts, self.retries, self.outcomes):
            existing = {index["name"] async for index in await collection.list_indexes()}
            if "expire_at_ttl" in existing:
                continue
            try:
                await collection.create_indexes([IndexModel(
                    [("expire_at", ASCENDING)], name="expire_at_ttl", expireAfterSeconds=0)])
            except OperationFailure as exc:
                log.warning("cannot create the ledger's TTL index; documents will be kept",
                            extra={"collection": collection.name, "error": str(exc)[:200]})
                if exc.code == NOT_IMPLEMENTED:  # FerretDB v1: same answer for every collection
                    return

    async def claim(self, claim: Claim) -> bool:
        collection, doc_id = self._claim_place(claim.key, claim.attempt)
        doc: Document = {
            "_id": doc_id, "key": claim.key, "attempt": claim.attempt,
            "claim_id": claim.claim_id, "owner": claim.owner, "at": claim.at,
            "lease_until": claim.lease_until, "expire_at": claim.at + self.retention,
        }
        if claim.outcome is not None:
            doc["outcome"] = claim.outcome
        if collection is self.attempts:
            inserted = await self._claims.insert(doc)
        else:
            inserted = await _insert_one(collection, doc)
        if inserted:
            return True
        existing = await collection.find_one({"_id": doc_id}, {"claim_id": 1})
        return existing is not None and existing.get("claim_id") == claim.claim_id

    async def record_retry(self, mark: RetryMark) -> None:
        await _insert_one(self.retries, {
            "_id": f"r{mark.attempt}:{mark.key}", "key": mark.key, "attempt": mark.attempt,
            "retry_at": mark.retry_at, "at": mark.at, "code": mark.code,
            "expire_at": mark.at + self.retention,
        })

    async def record_outcome(self, outcome: Outcome) -> Outcome:
        at = self.clock()
        inserted = await self._outcomes.insert({
            "_id": outcome.key, "event": outcome.event_json, "type": outcome.event_type,
            "at": at, "expire_at": at + self.retention,
        })
        if inserted:
            return outcome
        existing = await self.outcomes.find_one({"_id": outcome.key})
        if existing is None:  # expired between the two calls: ours stands
            return outcome
        return Outcome(outcome.key, existing["event"], existing.get("type", ""))

    async def view(self, key: str) -> LedgerView:
        claim_doc = await self.attempts.find_one({"_id": key})
        if claim_doc is None:
            return LedgerView()
        claim = _claim(claim_doc)
        if claim.outcome is not None:
            return LedgerView(claim=claim)
        outcome_doc = await self.outcomes.find_one({"_id": key})
        if outcome_doc is not None:
            return LedgerView(claim=claim, outcome=Outcome(key, outcome_doc["event"],
                                                           outcome_doc.get("type", "")))
        latest = claim
        while True:
            doc = await self.retries.find_one({"_id": f"a{latest.attempt + 1}:{key}"})
            if doc is None:
                break
            latest = _claim(doc)
        retry_doc = await self.retries.find_one({"_id": f"r{latest.attempt}:{key}"})
        retry = None if retry_doc is None else RetryMark(
            key=key, attempt=retry_doc["attempt"], retry_at=retry_doc["retry_at"],
            at=retry_doc["at"], code=retry_doc.get("code"))
        return LedgerView(claim=claim, latest=latest, retry=retry)

    def _claim_place(self, key: str, attempt: int) -> tuple[AsyncCollection[Document], str]:
        if attempt == 1:
            return self.attempts, key
        return self.retries, f"a{attempt}:{key}"


def _claim(doc: Document) -> Claim:
    return Claim(key=doc["key"], attempt=doc["attempt"], claim_id=doc["claim_id"],
                 owner=doc.get("owner", ""), at=doc["at"], lease_until=doc.get("lease_until"),
                 outcome=doc.get("outcome"))


async def _insert_one(collection: AsyncCollection[Document], doc: Document) -> bool:
    try:
        await collection.insert_one(doc)
    except DuplicateKeyError:
        return False
    return True


class MongoWindows:
    """The customer's last inbound time, and when Meta last reported the window closed, from
    conversation_store's ``conversations`` document; for a conversation merged into another
    (the same customer's), from the one it was merged into, where the customer's messages go."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.conversations = db[CONVERSATIONS]

    async def window(self, conversation_id: str) -> StoredWindow:
        doc = None
        for _ in range(4):  # a merge, and a merge of the survivor (rare), and so on
            doc = await self.conversations.find_one({"_id": conversation_id}, {
                "last_inbound_at": 1, "window_closed_at": 1, "merged_into": 1})
            if doc is None or not isinstance(survivor := doc.get("merged_into"), str):
                break
            conversation_id = survivor
        if doc is None:
            return StoredWindow()
        return StoredWindow(last_inbound_at=_date(doc.get("last_inbound_at")),
                            closed_at=_date(doc.get("window_closed_at")))


def _date(value: object) -> datetime | None:
    return value if isinstance(value, datetime) else None


class MongoTemplates:
    """Template statuses, cached for ``ttl_seconds`` (a campaign sends one template many times;
    a status change reaches the sender within that time, and Meta refuses meanwhile anyway)."""

    def __init__(self, db: AsyncDatabase[Document], ttl_seconds: float,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.templates = db[TEMPLATES_COLLECTION]
        self.ttl_seconds = ttl_seconds
        self.monotonic = monotonic
        self._cache: dict[str, tuple[float, str | None]] = {}
        self._loading: dict[str, asyncio.Future[str | None]] = {}

    async def status(self, waba_id: str, name: str, language: str) -> str | None:
        doc_id = template_doc_id(waba_id, name, language)
        cached = self._cache.get(doc_id)
        if cached is not None and self.monotonic() - cached[0] < self.ttl_seconds:
            return cached[1]
        loading = self._loading.get(doc_id)
        if loading is not None:  # one read for many concurrent sends of the same template
            return await asyncio.shield(loading)
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._loading[doc_id] = future
        try:
            doc = await self.templates.find_one({"_id": doc_id}, {"status": 1})
            status = doc.get("status") if doc is not None else None
            status = status if isinstance(status, str) else None
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[doc_id] = (self.monotonic(), status)
            future.set_result(status)
            return status
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it themselves
            raise
        finally:
            del self._loading[doc_id]


class MongoChannels(ChannelLookup):
    """The channel directory over the sender's database (the one lookup in ``shared.channels``:
    reloaded at once, at most every ``reload_seconds``, when a number is not in it)."""

    def __init__(self, db: AsyncDatabase[Document], directory: ChannelDirectory,
                 reload_seconds: float = 5.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__(db[CHANNELS_COLLECTION], directory, reload_seconds, monotonic)
