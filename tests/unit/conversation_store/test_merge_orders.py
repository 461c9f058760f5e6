"""Idempotence and order of the identity merge, end to end in memory (issue 14): webhook_ingest's
routing (the real contact directory, two replicas with their own caches, over one alias store),
inbox_api's send by number, and the store (fold, hand-over, forwarding). Stories that start
with a customer seen apart, by number and by BSUID, before an event names both: every order,
and duplicates, give one thread with the same messages, customer fields and unread count as the
same events folded into that thread directly, and with the same id."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from services.webhook_ingest.conversations import apply_repoints, resolve_conversations
from shared.contact_directory import ContactDirectory
from shared.contacts import derived_conversation_id
from shared.events import ConversationMerged, MessageAccepted
from shared.events.base import Event
from tests.unit.conversation_store.builders import (
    CUSTOMER,
    NUMBER_ID,
    TENANT,
    accepted,
    received,
    status,
    user_received,
    user_status,
)
from tests.unit.conversation_store.fakes import Feeder
from tests.unit.conversation_store.test_merge import thread_state
from tests.unit.webhook_ingest.fakes import InMemoryAliases

SURVIVOR = derived_conversation_id(NUMBER_ID, CUSTOMER, None)


def story() -> dict[str, Event]:
    """One customer: an agent's template by number and Meta's statuses for it (one naming the
    number, one only the BSUID), messages by BSUID only, by number only, and one naming both."""
    return {
        "template": accepted("c1", "o1", 0),  # by number (inbox_api resolves the number)
        "delivered": status("o1", "delivered", 2),  # number only
        "u1": user_received("u1", 5, name="Ana", username="ana.g"),  # BSUID only
        "both": user_received("u2", 10, wa_id=CUSTOMER, name="Ana G"),  # number and BSUID
        "read": user_status("o1", "read", 12),  # BSUID only
        "w3": received("w3", 20, name=None),  # number only
    }


BY_NUMBER = {"template", "delivered", "w3"}
BY_BSUID = {"u1", "read"}


def starts_apart(order: tuple[str, ...]) -> bool:
    """A number-only and a BSUID-only event both come before the first event naming both."""
    before = set(order[:order.index("both")])
    return bool(before & BY_NUMBER) and bool(before & BY_BSUID)


ORDERS = [o for o in itertools.permutations(story()) if starts_apart(o)]


class World:
    """webhook_ingest (two replicas), inbox_api's directory, and the store, in memory."""

    def __init__(self, variant: int) -> None:
        self.aliases = InMemoryAliases()
        self.ingest = [ContactDirectory(self.aliases, self.aliases) for _ in range(2)]
        self.inbox = ContactDirectory(self.aliases, self.aliases)
        self.store = Feeder(cached=variant % 2 == 0)
        self.variant = variant
        self.merges = 0

    async def arrive(self, event: Event, n: int) -> None:
        if isinstance(event, MessageAccepted):
            # An agent's send: inbox_api resolved the number when it published the command.
            cid = await self.inbox.resolve(NUMBER_ID, TENANT, CUSTOMER, None)
            await self.store.feed(event.model_copy(update={"conversation_id": cid}))
        else:
            # Alternate replicas: the one that did not merge keeps a stale cache.
            replica = self.ingest[(n + self.variant) % 2]
            pending: list[Any] = []
            events = await resolve_conversations([event], replica, pending)
            self.merges += sum(isinstance(e, ConversationMerged) for e in events)
            await self.store.feed(*events, batch=1 + self.variant % 3)
            await apply_repoints(replica, pending)
        if self.variant % 3 != 0:  # else what the store forwards is still in flight
            await self.store.deliver()

    async def settle(self) -> None:
        await self.store.deliver()

    def threads(self) -> list[str]:
        """The conversations the inbox lists (merged ones are hidden)."""
        return sorted(cid for cid, doc in self.store.repository.conversations.items()
                      if not doc.get("merged_into"))


async def direct() -> dict[str, Any]:
    """The same events folded into the survivor directly (both identifiers known from the
    start): what every order must give."""
    feeder = Feeder()
    await feeder.feed(*(e.model_copy(update={"conversation_id": SURVIVOR})
                        for e in story().values()))
    return thread_state(feeder, SURVIVOR)


async def test_there_are_orders_to_test():
    assert len(ORDERS) > 100
    expected = await direct()
    conv = expected["conversation"]
    assert conv["unread_count"] == 3
    assert conv["customer_user_id"] is not None
    assert conv["customer_username"] == "ana.g"


async def test_every_order_gives_one_thread_like_the_direct_fold():
    expected = await direct()
    merged_orders = 0
    for n, order in enumerate(ORDERS):
        events = story()
        world = World(n)
        for i, name in enumerate(order):
            await world.arrive(events[name], i)
        await world.settle()
        assert world.threads() == [SURVIVOR], order
        assert thread_state(world.store, SURVIVOR) == expected, order
        merged_orders += world.merges > 0
        for cid, doc in world.store.repository.conversations.items():
            if cid != SURVIVOR:
                assert doc["merged_into"] == SURVIVOR, order
    assert merged_orders == len(ORDERS)  # every such story needs the merge


@pytest.mark.parametrize("n", range(0, len(ORDERS), max(1, len(ORDERS) // 12)))
async def test_duplicates_and_redeliveries_change_nothing(n: int):
    expected = await direct()
    order = ORDERS[n]
    events = story()
    world = World(n)
    for i, name in enumerate(order):
        await world.arrive(events[name], i)
    # Meta re-sends every webhook (a new record each), in reverse, on the other replica...
    for i, name in enumerate(reversed(order)):
        await world.arrive(events[name], i + 1)
    await world.settle()
    # ...and the store's whole log is redelivered (a crash before a commit).
    await world.store.replay(world.store.log)
    await world.settle()
    assert world.threads() == [SURVIVOR], order
    assert thread_state(world.store, SURVIVOR) == expected, order
