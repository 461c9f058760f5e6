"""Round-robin auto-assignment (round_robin.py): the pure rule, and the step that assigns a
batch's new, customer-started, unassigned conversations in their first write."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from services.conversation_store.changes import ThreadChange
from services.conversation_store.documents import Conversation
from services.conversation_store.round_robin import (
    ROUND_ROBIN_ACTOR,
    RoundRobin,
    is_due,
    next_member,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("members", "counter", "expected"), [
    (["a", "b", "c"], 1, "a"),
    (["a", "b", "c"], 2, "b"),
    (["a", "b", "c"], 3, "c"),
    (["a", "b", "c"], 4, "a"),
    (["a"], 7, "a"),
    ([], 1, None),
    (["a", "b"], 0, None),
])
def test_next_member(members: list[str], counter: int, expected: str | None) -> None:
    assert next_member(members, counter) == expected


def test_thirty_turns_over_three_agents_are_ten_each() -> None:
    assert Counter(next_member(["a", "b", "c"], n) for n in range(1, 31)) == {
        "a": 10, "b": 10, "c": 10}


def change(cid: str = "1001:16505550123", *, new: bool = True, tenant: str = "acme",
           **fields: object) -> ThreadChange:
    values: dict[str, object] = {"last_inbound_at": NOW, **fields}
    conversation = Conversation.model_validate({
        "_id": cid, "tenant_id": tenant, "business_phone_number_id": cid.split(":")[0],
        "created_at": NOW, "updated_at": NOW, **values})
    return ThreadChange(conversation=conversation, conversation_is_new=new)


@pytest.mark.parametrize(("kwargs", "due"), [
    ({}, True),
    ({"new": False}, False),
    ({"assignee_id": "ana"}, False),
    ({"last_inbound_at": None}, False),  # the business started it (a template)
    ({"merged_into": "1001:1"}, False),
])
def test_is_due(kwargs: dict[str, object], due: bool) -> None:
    assert is_due(change(**kwargs)) is due  # type: ignore[arg-type]


class FakeRotation:
    def __init__(self, members: dict[str, list[str]]) -> None:
        self.members = members
        self.counters: Counter[str] = Counter()

    async def next(self, tenant_id: str) -> str | None:
        if tenant_id not in self.members:
            return None  # the rotation is off there
        self.counters[tenant_id] += 1
        return next_member(self.members[tenant_id], self.counters[tenant_id])


async def test_new_conversations_take_turns_and_others_are_left_alone() -> None:
    rotation = FakeRotation({"acme": ["ana", "bea"]})
    step = RoundRobin(rotation, lambda: NOW)
    changes = [change("1001:1"), change("1001:2", new=False), change("1001:3"),
               change("1001:4"), change("2001:5", tenant="globex")]
    out = await step(changes)
    assert [c.conversation.assignee_id for c in out] == ["ana", None, "bea", "ana", None]
    assert out[0].conversation.assigned_by == ROUND_ROBIN_ACTOR
    assert out[0].conversation.assigned_at == NOW
    assert rotation.counters == {"acme": 3}  # a turn per assigned conversation only
