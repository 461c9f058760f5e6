"""The store's pipeline: every batch goes through these steps, in this order.

1. **decode** (:data:`STORE_EVENTS`, run by BatchConsumer). A record that does not decode is
   dead-lettered before any step sees it, so every later step gets typed events.
2. **template fold** (templates.py). Meta's template status, quality, category and components,
   per tenant. Template events carry no conversation, and each write is conditional on the
   event being at least as new as the stored value, so a replay or a second member applying the
   same event changes nothing. It needs no partition ownership, so it runs outside the guard
   and never holds up a rebalance.
3. **opt-out fold** (opt_outs.py). A customer's stop or start keyword, Meta's 131050, or the
   marketing preference the customer set in WhatsApp (stop / resume): the newest choice per
   customer by WhatsApp time wins, so it is idempotent and order-tolerant too, and runs outside
   the guard for the same reason.
4. **account-health fold** (account_health.py). Meta's notices about the tenant's account and
   numbers (restrictions, bans, alerts, limits, a number's quality): the newest notice per
   (account or number, kind) by Meta's time wins, so it is idempotent and order-tolerant, and
   runs outside the guard for the same reason (its events carry no conversation).
   Steps 2 to 4 write their own collections and read nothing the conversation fold writes (nor
   it theirs): their place before the guard is about the lock, not about order.
5. **ownership guard** (ownership.py). From here on the store reads, folds and writes whole
   conversation documents, which is safe only while one member owns the conversation: the guard
   keeps the records of partitions this member still owns and holds any rebalance until the
   steps below have written.
6. **conversation fold** (handlers.py -> projection.py). The pure fold of each conversation's
   events, grouped by conversation, against what the thread cache or the database holds. A
   conversation merged into another folds nothing: its events go to the fold's outbox
   (merge.py), as does the hand-over of a conversation being merged.
7. **hand-over** (handlers.py -> a Forwarder). The outbox, published keyed by the survivor
   (ConversationAbsorbed parts, forwarded events) before the save: a crash between the two
   replays the batch, which hands over again (the survivor takes it twice as once), never not.
8. **save** (handlers.py -> a ThreadRepository). One write per changed conversation, conversation
   before messages. Steps 6 to 8 overlap per group of conversations: while one group is
   handed over and written, the next is folded.
9. **notice** (handlers.py -> a NoticePublisher). One ConversationChanged per changed
   conversation, only after its write: a subscriber that reads on a notice finds the change.

BatchConsumer commits the batch's offsets only after all nine steps; a failure in any step
retries the whole batch, which every step tolerates (each is idempotent).

``main.py`` builds the steps from the adapters and plugs them in; nothing else wires them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Union, get_args

from pydantic import Field, TypeAdapter

from services.conversation_store.ownership import OwnershipGuard
from shared.consumer import BatchHandler, Received
from shared.events import InboundEvent, InboxCommand, OutboundEvent
from shared.events.base import Event


def _members(annotated: Any) -> tuple[Any, ...]:
    return get_args(get_args(annotated)[0])


# One decoder for the three topics: every event type has its own ``type`` literal.
STORE_EVENTS: TypeAdapter[Event] = TypeAdapter(
    Annotated[  # type: ignore[arg-type]
        Union[  # built from the three contract unions, so a new event type is decoded too
            (*_members(InboundEvent), *_members(OutboundEvent), *_members(InboxCommand))
        ],
        Field(discriminator="type"),
    ]
)


@dataclass(frozen=True, slots=True)
class StorePipeline:
    """The BatchConsumer handler of conversation_store: the steps above, in order."""

    decode: ClassVar[TypeAdapter[Event]] = STORE_EVENTS
    template_fold: BatchHandler[Event]
    opt_out_fold: BatchHandler[Event]
    account_health_fold: BatchHandler[Event]
    ownership_guard: OwnershipGuard
    # Conversation fold, hand-over, save and notice (handlers.StoreHandler): one unit, because
    # the fold of one group of conversations overlaps the hand-over and save of the one before.
    conversations: BatchHandler[Event]

    async def __call__(self, batch: list[Received[Event]]) -> None:
        await self.template_fold(batch)
        await self.opt_out_fold(batch)
        await self.account_health_fold(batch)
        async with self.ownership_guard.owned(batch) as mine:
            if mine:
                await self.conversations(mine)
