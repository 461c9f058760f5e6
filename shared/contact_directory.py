"""The contact directory: ``contact_aliases`` in MongoDB behind an in-process LRU cache.

Resolves an event's identifiers (number, BSUID, or both) to its conversation id by the rule of
:mod:`shared.contacts`. The steady state costs no query; a miss costs one ``find`` for the
identifiers not cached, plus one insert per identifier seen for the first time.

Concurrent resolvers of the same new identifiers (two replicas, two coroutines) agree: the
BSUID's alias is inserted first; whoever loses the insert reads the winner's conversation and
uses it, and only then is the number's alias inserted, pointing at that conversation.

**Merges move aliases, so a cached alias may be stale.** When an event's number and BSUID point
at two conversations, :meth:`ContactDirectory.route` answers the number's conversation (the
survivor) and names the BSUID's as absorbed; the caller publishes the merge and only then calls
:meth:`ContactDirectory.repoint`, which records the merge (an alias ``{pnid}|merged:{absorbed}``,
insert-if-absent) and moves the aliases (a conditional update: only if the alias still points
where it did). A crash before that leaves the aliases as they were, so the next event naming
both merges again (the store takes a merge twice as once). Another process may keep the old
alias in its cache: its events go to the absorbed conversation, which conversation_store
forwards to the survivor; when it sees the number and the BSUID together it finds the merge
record and moves its alias instead of merging again.

The reads are here; the writes go through :class:`AliasWrites`, which each writing service
implements in its own adapters (so the service's writes stay visible to the ownership map,
``tests/unit/shared/test_architecture_map.py``). A minimal adapter::

    async def insert_absent(self, docs):
        return await shared.mongo.insert_absent(self._aliases, docs)

    async def repoint(self, alias, absorbed, survivor):
        done = await self._aliases.update_one(
            {"_id": alias, "conversation_id": absorbed}, {"$set": {"conversation_id": survivor}})
        return done.matched_count == 1
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
    """Insert-if-absent of alias documents (``_id`` is the alias id), and the move of one."""

    async def insert_absent(self, docs: Sequence[Document]) -> set[str]:
        """Insert each document whose ``_id`` is absent; return the ids that already existed
        (a duplicate key is not an error: the first writer won). Anything else raises."""
        ...

    async def repoint(self, alias: str, absorbed: str, survivor: str) -> bool:
        """Point ``alias`` at ``survivor`` if it still points at ``absorbed`` (one conditional
        update); True when it matched."""
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
        """The conversation id when every identifier's alias is cached and they agree, else
        None (a disagreement needs :meth:`route`: a merge, or a merge record to read). No I/O.
        """
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
            return None
        return result.conversation_id

    async def resolve(
        self, pnid: str, tenant_id: str, wa_id: str | None, user_id: str | None
    ) -> str:
        """The conversation of a customer on a business number; writes aliases it lacked.

        Where the number and the BSUID belong to two conversations this is the survivor, and
        nothing is merged or moved (only webhook_ingest merges: :meth:`route`, :meth:`repoint`).
        ``ValueError`` when neither identifier is given.
        """
        hit = self.cached(pnid, wa_id, user_id)
        if hit is not None:
            return hit
        return (await self.route(pnid, tenant_id, wa_id, user_id)).conversation_id

    async def route(
        self, pnid: str, tenant_id: str, wa_id: str | None, user_id: str | None
    ) -> Resolution:
        """:meth:`resolve` with what it found: the conversation absorbed when the number and
        the BSUID belonged to two (``absorbed``), and the aliases to move (``moves``). The
        caller publishes the merge, then calls :meth:`repoint`; nothing is moved here.

        ``ValueError`` when neither identifier is given.
        """
        if not wa_id and not user_id:
            raise ValueError("a customer needs a phone number or a BSUID")
        found = await self._load(contacts.alias_ids(pnid, wa_id, user_id))
        merged: dict[str, str] = {}
        result = await self._settle(pnid, wa_id, user_id, found, merged)
        # The BSUID's alias first: it decides the conversation when the number has none.
        for alias in result.missing:
            winners = await self._insert(pnid, tenant_id, [alias], result.conversation_id)
            found.update(winners)
            result = await self._settle(pnid, wa_id, user_id, found, merged)
        self._report(pnid, result)
        return result

    async def repoint(self, pnid: str, tenant_id: str, result: Resolution) -> None:
        """Once the merge is published: record it, and move the aliases to the survivor.

        Idempotent: the merge record is insert-if-absent, and a move applies only while the
        alias still points where :meth:`route` found it."""
        survivor = result.conversation_id
        if result.absorbed:
            now = self._clock()
            await self._writes.insert_absent([
                {"_id": contacts.merged_alias(pnid, absorbed), "conversation_id": survivor,
                 "tenant_id": tenant_id, "business_phone_number_id": pnid, "created_at": now}
                for absorbed in result.absorbed])
        for alias, pointed in result.moves:
            if await self._writes.repoint(alias, pointed, survivor):
                self._remember(alias, survivor)
            else:
                self._cache.pop(alias, None)  # moved by someone else: read it again

    async def _settle(self, pnid: str, wa_id: str | None, user_id: str | None,
                      found: Mapping[str, str], merged: dict[str, str]) -> Resolution:
        """The rule, reading the merge records of the conversations found when they disagree
        (rare: only then can an alias be stale). ``merged`` collects what was read."""
        result = contacts.resolve(pnid, wa_id, user_id, found, merged)
        if not result.conflicts:
            return result
        prefix = len(contacts.merged_alias(pnid, ""))
        asked: set[str] = set(merged)
        frontier = set(found.values()) - asked
        for _ in range(contacts.MAX_MERGE_HOPS):
            if not frontier:
                break
            asked |= frontier
            records = await self._load([contacts.merged_alias(pnid, c) for c in sorted(frontier)])
            learned = {alias[prefix:]: survivor for alias, survivor in records.items()}
            merged.update(learned)
            frontier = set(learned.values()) - asked
        return contacts.resolve(pnid, wa_id, user_id, found, merged)

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
        """Log and count a merge (resolve) or an identifier kept by another conversation
        (link), once per alias and conversation."""
        if result.absorbed:
            reported = tuple(a for a, pointed in result.moves if pointed in result.absorbed)
        elif not result.moves:
            reported = result.conflicts  # link: nothing moves
        else:
            reported = ()  # only stale aliases to move: the merge happened before
        for alias in reported:
            key = (alias, result.conversation_id)
            if key in self._conflicts_seen:
                continue
            if len(self._conflicts_seen) < 10_000:
                self._conflicts_seen.add(key)
            log.warning(
                "contact alias points at another conversation; merging it into the event's"
                if result.absorbed else
                "contact alias points at another conversation; kept there (identity change)",
                extra={"alias": alias, "conversation_id": result.conversation_id,
                       "aliased_to": self._cache.get(alias), "absorbed": list(result.absorbed)})
            if self._on_conflict is not None:
                self._on_conflict(pnid, alias, result.conversation_id)
