"""The window of a conversation merged into another (the same customer's) is the survivor's: the
customer's messages go there, so a send still in flight for the old conversation is decided by
the window the customer really has (services/outbound_sender/adapters/mongo.py MongoWindows)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.outbound_sender.adapters.mongo import MongoWindows

AT = datetime(2026, 12, 1, 12, tzinfo=UTC)


class Conversations:
    def __init__(self, docs: dict[str, dict[str, Any]]) -> None:
        self.docs = docs
        self.reads: list[str] = []

    async def find_one(self, query: dict[str, Any], *_: Any) -> dict[str, Any] | None:
        self.reads.append(query["_id"])
        return self.docs.get(query["_id"])


def windows(docs: dict[str, dict[str, Any]]) -> tuple[MongoWindows, Conversations]:
    conversations = Conversations(docs)
    db: Any = {"conversations": conversations}
    return MongoWindows(db), conversations


async def test_a_merged_conversation_answers_with_the_survivors_window() -> None:
    found, reads = windows({
        "pn:US.1": {"_id": "pn:US.1", "last_inbound_at": AT, "merged_into": "pn:34600"},
        "pn:34600": {"_id": "pn:34600", "last_inbound_at": AT.replace(hour=15)},
    })
    window = await found.window("pn:US.1")
    assert window.last_inbound_at == AT.replace(hour=15)
    assert reads.reads == ["pn:US.1", "pn:34600"]


async def test_an_unmerged_one_is_read_once_and_a_cycle_stops() -> None:
    found, reads = windows({"a": {"_id": "a", "last_inbound_at": AT}})
    assert (await found.window("a")).last_inbound_at == AT
    assert reads.reads == ["a"]
    looping, reads = windows({"a": {"_id": "a", "merged_into": "b"},
                              "b": {"_id": "b", "merged_into": "a"}})
    await looping.window("a")
    assert len(reads.reads) == 4
    assert (await windows({})[0].window("none")).last_inbound_at is None
