"""The contact directory: ``contact_aliases`` in MongoDB behind an in-process LRU cache.

Resolves an event's identifiers (number, BSUID, or both) to its conversation id by the rule of
:mod:`shared.contacts`. Aliases never change once written (first writer wins), so a cached alias
is never stale: the steady state costs no query; a miss costs one ``find`` for the identifiers
not cached, plus one insert per identifier seen for the first time.

Concurrent resolvers of the same new identifiers (two replicas, two coroutines) agree: the
BSUID's alias is inserted first; whoever loses the insert reads the winner's conversation and
uses it, and only then is the number's alias inserted, pointing at that conversation.

The reads are here; the inserts go through :class:`AliasWrites`, which each writing service
implements in its own adapters (so the service's writes stay visible to the ownership map,
``tests/unit/shared/test_architecture_map.py``). A minimal adapter::

    async def insert_absent(self, docs):
        try:
            await self._aliases.insert_many(list(docs), ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != 11000 for e in errors) or not errors:
                raise
            return {str(docs[e["index"]]["_id"]) for e in errors}
        return set()
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from shared import contacts
from shared.contacts import Resolution

log = logging.getLogger(__name__)

Document = dict[str, Any]
DEFAULT_CAPACITY = 200_000


class AliasWrites(Protocol):
    """Insert-if-absent of alias documents (``_id`` is the alias id)."""

    async def insert_absent(self, docs: Sequence[Document]) -> set[str]:
        """Insert each document whose ``_id`` is absent; return the ids that already existed
        (a duplicate key is not an error: the first writer won). Anything else raises."""
        ...


class AliasReads(Protocol):
    """What the directory reads: ``contact_aliases`` (a pymongo ``AsyncCollection``)."""

    def find(self, filter: Mapping[str, Any], *args: Any, **kwargs: Any) -> Any: ...


class ContactDirectory:
    """``resolve(pnid, tenant_id, wa_id, user_id) -> conversation_id``, cached."""

    def __init__(
        self,
        aliases: AliasReads,
        writes: AliasWrites,
        *,
        capacity: int = DEFAULT_CAPACITY,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_conflict: Callable[[str, str, str], None] | None = None,
    ) -> None:
        self._aliases = aliases
        self._writes = writes
        self._capacity = capacity
        self._clock = clock
        self._cache: OrderedDict[str, str] = OrderedDict()
        # (alias id, conversation id the event went to) -> nothing; called once per conflict.
        self._on_conflict = on_conflict
        self._conflicts_seen: set[tuple[str, str]] = set()
        self.queries = 0  # finds sent (tests and metrics read it)

    def __len__(self) -> int:
        return len(self._cache)

    def cached(self, pnid: str, wa_id: str | None, user_id: str | None) -> str | None:
        """The conversation id when every identifier's alias is cached, else None. No I/O."""
        ids = contacts.alias_ids(pnid, wa_id, user_id)
        if not ids:
            return None
        found: dict[str, str] = {}
        for alias in ids:
            conversation = self._cache.get(alias)
            if conversation is None:
                return None
            self._cache.move_to_end(alias)
            found[alias] = conversation
        result = contacts.resolve(pnid, wa_id, user_id, found)
        if result.conflicts:
            self._report(pnid, result)
        return result.conversation_id

    async def resolve(
        self, pnid: str, tenant_id: str, wa_id: str | None, user_id: str | None
    ) -> str:
        """The conversation of a customer on a business number; writes aliases it lacked.

        ``ValueError`` when neither identifier is given.
        """
        if not wa_id and not user_id:
            raise ValueError("a customer needs a phone number or a BSUID")
        hit = self.cached(pnid, wa_id, user_id)
        if hit is not None:
            return hit
        found = await self._load(contacts.alias_ids(pnid, wa_id, user_id))
        result = contacts.resolve(pnid, wa_id, user_id, found)
        # The BSUID's alias first: it decides the conversation when it exists.
        for alias in result.missing:
            winners = await self._insert(pnid, tenant_id, [alias], result.conversation_id)
            found.update(winners)
            result = contacts.resolve(pnid, wa_id, user_id, found)
        self._report(pnid, result)
        return result.conversation_id

    async def link(
        self, pnid: str, tenant_id: str, conversation_id: str,
        wa_id: str | None, user_id: str | None,
    ) -> Resolution:
        """Give new identifiers (a number or BSUID change) aliases to ``conversation_id``.

        First writer wins: an identifier that already belongs to another conversation stays
        there and is reported as a conflict.
        """
        ids = contacts.alias_ids(pnid, wa_id, user_id)
        found = await self._load(ids)
        result = contacts.link(pnid, conversation_id, wa_id, user_id, found)
        if result.missing:
            found.update(await self._insert(pnid, tenant_id, list(result.missing),
                                            conversation_id))
            result = contacts.link(pnid, conversation_id, wa_id, user_id, found)
        self._report(pnid, result)
        return result

    async def _load(self, ids: Iterable[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        missing = []
        for alias in ids:
            conversation = self._cache.get(alias)
            if conversation is None:
                missing.append(alias)
            else:
                found[alias] = conversation
        if missing:
            self.queries += 1
            cursor = self._aliases.find({"_id": {"$in": missing}},
                                        {"conversation_id": True})
            async for doc in cursor:
                found[str(doc["_id"])] = str(doc["conversation_id"])
                self._remember(str(doc["_id"]), str(doc["conversation_id"]))
        return found

    async def _insert(
        self, pnid: str, tenant_id: str, ids: list[str], conversation_id: str
    ) -> dict[str, str]:
        """Insert the aliases; return what each now holds (ours, or the earlier writer's)."""
        now = self._clock()
        docs = [{"_id": alias, "conversation_id": conversation_id, "tenant_id": tenant_id,
                 "business_phone_number_id": pnid, "created_at": now} for alias in ids]
        taken = await self._writes.insert_absent(docs)
        out = {alias: conversation_id for alias in ids if alias not in taken}
        for alias, conversation in out.items():
            self._remember(alias, conversation)
        if taken:
            # Someone else wrote first: read what they wrote (never overwrite it).
            out.update(await self._load(taken))
        return out

    def _remember(self, alias: str, conversation_id: str) -> None:
        self._cache[alias] = conversation_id
        self._cache.move_to_end(alias)
        while len(self._cache) > self._capacity:
            self._cache.popitem(last=False)

    def _report(self, pnid: str, result: Resolution) -> None:
        for alias in result.conflicts:
            key = (alias, result.conversation_id)
            if key in self._conflicts_seen:
                continue
            if len(self._conflicts_seen) < 10_000:
                self._conflicts_seen.add(key)
            log.warning(
                "contact alias points at another conversation; the event goes to the BSUID's "
                "(conversations are not merged)",
                extra={"alias": alias, "conversation_id": result.conversation_id,
                       "aliased_to": self._cache.get(alias)})
            if self._on_conflict is not None:
                self._on_conflict(pnid, alias, result.conversation_id)
