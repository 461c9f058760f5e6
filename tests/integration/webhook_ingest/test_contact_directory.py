"""ContactDirectory on the real MongoDB wire (FerretDB in the devstack) with webhook_ingest's
first-writer-wins inserts: concurrent resolvers agree, and replays in any order converge."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.webhook_ingest.adapters.contact_aliases import MongoAliasWrites, contact_directory
from shared.contacts import CONTACT_ALIASES_COLLECTION

pytestmark = pytest.mark.integration

PN = "106540352242922"
NUMBER = "16505551234"
BSUID = "US.13491208655302741918"


async def aliases(db: AsyncDatabase[dict[str, Any]]) -> dict[str, str]:
    docs = await db[CONTACT_ALIASES_COLLECTION].find({}).to_list(None)
    return {d["_id"]: d["conversation_id"] for d in docs}


async def test_concurrent_resolves_of_new_identifiers_give_one_conversation(db) -> None:
    # Separate directories: separate replicas, cold caches, racing on the same inserts.
    replicas = [contact_directory(db) for _ in range(8)]
    shapes = [(NUMBER, BSUID), (None, BSUID)] * 4
    ids = await asyncio.gather(*(r.resolve(PN, "acme", wa, uid)
                                 for r, (wa, uid) in zip(replicas, shapes, strict=True)))
    assert len(set(ids)) == 1
    stored = await aliases(db)
    assert set(stored.values()) == set(ids)
    assert f"{PN}|uid:{BSUID}" in stored
    # Every replica answers the same afterwards, from the database or its cache.
    assert {await contact_directory(db).resolve(PN, "acme", NUMBER, None)} == set(ids)


async def test_an_insert_of_an_existing_alias_keeps_the_first(db) -> None:
    writes = MongoAliasWrites(db)
    assert await writes.insert_absent([{"_id": "a", "conversation_id": "one"}]) == set()
    taken = await writes.insert_absent([{"_id": "a", "conversation_id": "two"},
                                        {"_id": "b", "conversation_id": "two"}])
    assert taken == {"a"}
    assert await aliases(db) == {"a": "one", "b": "two"}


async def test_the_same_events_in_any_order_or_twice_converge(db) -> None:
    # One customer's events that never conflict: any order, duplicates, one thread.
    events = [(NUMBER, BSUID), (None, BSUID), (NUMBER, BSUID), (NUMBER, None)]
    results = []
    for n, order in enumerate(itertools.islice(itertools.permutations(events), 6)):
        pn = f"{PN}{n}"
        directory = contact_directory(db)
        ids = {await directory.resolve(pn, "acme", wa, uid) for wa, uid in order}
        again = {await contact_directory(db).resolve(pn, "acme", wa, uid) for wa, uid in order}
        assert len(ids) == 1
        assert again == ids
        stored = {k.split("|", 1)[1]: v.split(":", 1)[1]
                  for k, v in (await aliases(db)).items() if k.startswith(f"{pn}|")}
        results.append(stored)
    # A number seen first gives the number scheme; the BSUID first gives the BSUID's.
    for stored in results:
        assert set(stored) == {f"uid:{BSUID}", f"wa:{NUMBER}"}
        assert len(set(stored.values())) == 1


async def test_a_merge_moves_the_alias_once_and_records_itself(db) -> None:
    writes = MongoAliasWrites(db)
    await writes.insert_absent([{"_id": "uid", "conversation_id": "absorbed"}])
    assert await writes.repoint("uid", "absorbed", "survivor") is True
    assert await writes.repoint("uid", "absorbed", "other") is False  # moved already: kept
    assert await writes.repoint("missing", "absorbed", "survivor") is False
    assert await aliases(db) == {"uid": "survivor"}
    # Through the directory: two threads seen apart, then both identifiers at once.
    directory = contact_directory(db)
    await directory.resolve(PN, "acme", None, BSUID)
    await directory.resolve(PN, "acme", NUMBER, None)
    result = await directory.route(PN, "acme", NUMBER, BSUID)
    assert (result.conversation_id, result.absorbed) == (f"{PN}:{NUMBER}", (f"{PN}:{BSUID}",))
    await directory.repoint(PN, "acme", result)
    await directory.repoint(PN, "acme", result)  # twice is once
    stored = await aliases(db)
    assert stored[f"{PN}|uid:{BSUID}"] == f"{PN}:{NUMBER}"
    assert stored[f"{PN}|merged:{PN}:{BSUID}"] == f"{PN}:{NUMBER}"
    # A cold replica: the BSUID alone now reaches the survivor, and nothing merges again.
    cold = contact_directory(db)
    assert await cold.resolve(PN, "acme", None, BSUID) == f"{PN}:{NUMBER}"
    assert (await cold.route(PN, "acme", NUMBER, BSUID)).absorbed == ()
