"""ContactDirectory (shared/contact_directory.py) with an in-memory alias store: the cache, one
query per miss, first-writer-wins inserts, identity-change links and conflicts."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from shared.contact_directory import ContactDirectory
from tests.unit.webhook_ingest.fakes import InMemoryAliases

PN = "106540352242922"
NUMBER = "16505551234"
BSUID = "US.13491208655302741918"
NEW_NUMBER = "16505559999"
NEW_BSUID = "US.99"


def make(store: InMemoryAliases | None = None, capacity: int = 1000
         ) -> tuple[ContactDirectory, InMemoryAliases, list[tuple[str, str, str]]]:
    store = store or InMemoryAliases()
    conflicts: list[tuple[str, str, str]] = []
    directory = ContactDirectory(store, store, capacity=capacity,
                                 clock=lambda: datetime(2026, 11, 25, tzinfo=UTC),
                                 on_conflict=lambda *a: conflicts.append(a))
    return directory, store, conflicts


async def test_a_new_customer_gets_the_derived_id_and_aliases() -> None:
    directory, store, _ = make()
    assert await directory.resolve(PN, "acme", NUMBER, BSUID) == f"{PN}:{NUMBER}"
    assert store.aliases() == {f"{PN}|uid:{BSUID}": f"{PN}:{NUMBER}",
                               f"{PN}|wa:{NUMBER}": f"{PN}:{NUMBER}"}
    doc = store.docs[f"{PN}|wa:{NUMBER}"]
    assert doc["tenant_id"] == "acme"
    assert doc["created_at"] == datetime(2026, 11, 25, tzinfo=UTC)


async def test_the_steady_state_costs_no_query() -> None:
    directory, store, _ = make()
    await directory.resolve(PN, "acme", NUMBER, BSUID)
    finds, inserts = store.finds, store.inserts
    for _ in range(5):
        assert await directory.resolve(PN, "acme", NUMBER, BSUID) == f"{PN}:{NUMBER}"
        assert directory.cached(PN, NUMBER, BSUID) == f"{PN}:{NUMBER}"
        assert directory.cached(PN, None, BSUID) == f"{PN}:{NUMBER}"
    assert (store.finds, store.inserts) == (finds, inserts)


async def test_a_miss_costs_one_find_and_known_aliases_are_not_rewritten() -> None:
    store = InMemoryAliases()
    first, _, _ = make(store)
    await first.resolve(PN, "acme", NUMBER, BSUID)
    second, _, _ = make(store)  # another replica: cold cache
    store.finds = store.inserts = 0
    assert await second.resolve(PN, "acme", None, BSUID) == f"{PN}:{NUMBER}"
    assert (store.finds, store.inserts) == (1, 0)


async def test_the_bsuid_later_seen_with_a_number_keeps_its_thread() -> None:
    directory, _, conflicts = make()
    assert await directory.resolve(PN, "acme", None, BSUID) == f"{PN}:{BSUID}"
    assert await directory.resolve(PN, "acme", NUMBER, BSUID) == f"{PN}:{BSUID}"
    assert await directory.resolve(PN, "acme", NUMBER, None) == f"{PN}:{BSUID}"
    assert conflicts == []


async def test_a_conflict_routes_to_the_number_and_names_the_absorbed_thread() -> None:
    directory, store, conflicts = make()
    await directory.resolve(PN, "acme", None, BSUID)  # thread by BSUID
    await directory.resolve(PN, "acme", NUMBER, None)  # another thread by number
    assert directory.cached(PN, NUMBER, BSUID) is None  # a disagreement is not answered cached
    result = await directory.route(PN, "acme", NUMBER, BSUID)
    assert result.conversation_id == f"{PN}:{NUMBER}"
    assert result.absorbed == (f"{PN}:{BSUID}",)
    assert result.moves == ((f"{PN}|uid:{BSUID}", f"{PN}:{BSUID}"),)
    # resolve (inbox_api) answers the survivor too, and moves nothing.
    assert await directory.resolve(PN, "acme", NUMBER, BSUID) == f"{PN}:{NUMBER}"
    assert conflicts == [(PN, f"{PN}|uid:{BSUID}", f"{PN}:{NUMBER}")]  # reported once
    # Nothing moved before repoint: the BSUID alone still reaches its own thread.
    assert store.aliases()[f"{PN}|uid:{BSUID}"] == f"{PN}:{BSUID}"
    assert await directory.resolve(PN, "acme", None, BSUID) == f"{PN}:{BSUID}"


async def test_repoint_records_the_merge_and_moves_the_alias() -> None:
    directory, store, _ = make()
    await directory.resolve(PN, "acme", None, BSUID)
    await directory.resolve(PN, "acme", NUMBER, None)
    result = await directory.route(PN, "acme", NUMBER, BSUID)
    await directory.repoint(PN, "acme", result)
    assert store.aliases() == {
        f"{PN}|uid:{BSUID}": f"{PN}:{NUMBER}", f"{PN}|wa:{NUMBER}": f"{PN}:{NUMBER}",
        f"{PN}|merged:{PN}:{BSUID}": f"{PN}:{NUMBER}"}
    assert directory.cached(PN, None, BSUID) == f"{PN}:{NUMBER}"
    assert directory.cached(PN, NUMBER, BSUID) == f"{PN}:{NUMBER}"
    # Twice is once: the merge record stays, the move no longer matches.
    await directory.repoint(PN, "acme", result)
    assert store.aliases()[f"{PN}|uid:{BSUID}"] == f"{PN}:{NUMBER}"
    assert (await directory.route(PN, "acme", NUMBER, BSUID)).absorbed == ()


async def test_a_stale_cache_finds_the_merge_record_and_does_not_merge_again() -> None:
    store = InMemoryAliases()
    merger, _, _ = make(store)
    stale, _, conflicts = make(store)  # another replica, which cached the old aliases
    await stale.resolve(PN, "acme", None, BSUID)
    await stale.resolve(PN, "acme", NUMBER, None)
    await merger.repoint(PN, "acme", await merger.route(PN, "acme", NUMBER, BSUID))
    # Its cache still sends the BSUID to the absorbed thread (the store forwards from there).
    assert stale.cached(PN, None, BSUID) == f"{PN}:{BSUID}"
    result = await stale.route(PN, "acme", NUMBER, BSUID)
    assert (result.conversation_id, result.absorbed) == (f"{PN}:{NUMBER}", ())
    assert result.moves == ((f"{PN}|uid:{BSUID}", f"{PN}:{BSUID}"),)
    assert conflicts == []
    await stale.repoint(PN, "acme", result)  # already moved: it re-reads the alias
    assert await stale.resolve(PN, "acme", None, BSUID) == f"{PN}:{NUMBER}"


async def test_a_number_left_on_an_absorbed_thread_does_not_merge_back() -> None:
    directory, store, _ = make()
    # The BSUID's thread also got a second number (an identity change) before the merge.
    await directory.resolve(PN, "acme", None, BSUID)
    await directory.link(PN, "acme", f"{PN}:{BSUID}", NEW_NUMBER, None)
    await directory.resolve(PN, "acme", NUMBER, None)
    await directory.repoint(PN, "acme", await directory.route(PN, "acme", NUMBER, BSUID))
    # The second number with the BSUID: its alias points at the absorbed thread.
    result = await directory.route(PN, "acme", NEW_NUMBER, BSUID)
    assert (result.conversation_id, result.absorbed) == (f"{PN}:{NUMBER}", ())
    await directory.repoint(PN, "acme", result)
    assert store.aliases()[f"{PN}|wa:{NEW_NUMBER}"] == f"{PN}:{NUMBER}"


async def test_a_lost_insert_adopts_the_winner() -> None:
    store = InMemoryAliases()
    mine, _, _ = make(store)
    # Another replica wrote the BSUID's alias between our find and our insert.
    original = store.insert_absent

    async def racing(docs: Sequence[dict[str, Any]]) -> set[str]:
        store.docs.setdefault(f"{PN}|uid:{BSUID}", {"_id": f"{PN}|uid:{BSUID}",
                                                    "conversation_id": "OTHER"})
        return await original(docs)
    store.insert_absent = racing  # type: ignore[method-assign]
    assert await mine.resolve(PN, "acme", NUMBER, BSUID) == "OTHER"
    # The number's alias followed the winner: one conversation, no conflict.
    assert store.aliases()[f"{PN}|wa:{NUMBER}"] == "OTHER"


async def test_concurrent_resolves_agree() -> None:
    store = InMemoryAliases()
    replicas = [make(store)[0] for _ in range(6)]
    shapes = [(NUMBER, BSUID), (None, BSUID), (NUMBER, BSUID), (None, BSUID), (NUMBER, BSUID),
              (None, BSUID)]
    ids = await asyncio.gather(*(r.resolve(PN, "acme", wa, uid)
                                 for r, (wa, uid) in zip(replicas, shapes, strict=True)))
    assert len(set(ids)) == 1
    assert set(store.aliases().values()) == set(ids)


async def test_link_gives_new_identifiers_the_thread() -> None:
    directory, _, conflicts = make()
    thread = await directory.resolve(PN, "acme", NUMBER, BSUID)
    result = await directory.link(PN, "acme", thread, NEW_NUMBER, NEW_BSUID)
    assert result.conflicts == ()
    assert await directory.resolve(PN, "acme", NEW_NUMBER, None) == thread
    assert await directory.resolve(PN, "acme", None, NEW_BSUID) == thread
    assert conflicts == []


async def test_link_never_steals_an_identifier() -> None:
    directory, _, conflicts = make()
    thread = await directory.resolve(PN, "acme", NUMBER, None)
    other = await directory.resolve(PN, "acme", NEW_NUMBER, None)
    result = await directory.link(PN, "acme", thread, NEW_NUMBER, None)
    assert result.conflicts == (f"{PN}|wa:{NEW_NUMBER}",)
    assert await directory.resolve(PN, "acme", NEW_NUMBER, None) == other
    assert len(conflicts) == 1


async def test_the_cache_is_bounded() -> None:
    directory, store, _ = make(capacity=4)
    for n in range(10):
        await directory.resolve(PN, "acme", f"1650555{n:04d}", None)
    assert len(directory) == 4
    # Evicted: answered by one find, not a new alias.
    store.finds = store.inserts = 0
    assert await directory.resolve(PN, "acme", "16505550000", None) == f"{PN}:16505550000"
    assert (store.finds, store.inserts) == (1, 0)


async def test_the_same_events_in_any_order_give_the_same_aliases() -> None:
    # Pairs that do not conflict: the events of one customer who shows number and BSUID.
    events = [(NUMBER, BSUID), (NUMBER, BSUID), (None, BSUID), (NUMBER, BSUID)]
    outcomes = set()
    for order in itertools.permutations(events):
        directory, store, conflicts = make()
        for wa, uid in order:
            await directory.resolve(PN, "acme", wa, uid)
        assert conflicts == []
        outcomes.add(tuple(sorted(store.aliases().items())))
    # Whether the number or the BSUID came first decides the id, never the number of threads.
    assert all(len({c for _, c in outcome}) == 1 for outcome in outcomes)
