"""Steps 5-8 of the store's pipeline (pipeline.py): conversation fold, hand-over, save, notice.

One batch in, one write and one notice per changed conversation out: group by conversation ->
load -> fold (pure) -> forward what the fold handed to other conversations (a merge's hand-over,
events of a merged conversation) -> save -> publish. BatchConsumer commits the batch's offsets
only after the whole pipeline returns.

A big batch is settled in groups of conversations, as a pipeline: while one group is written, the
next is folded, so the fold's CPU time overlaps the database's write time. The fold yields to the
event loop every millisecond or so, which lets the write in flight send its next command as soon
as the last one is answered (a worker thread would hold it up on the GIL instead). Groups share no
conversation, so each conversation still gets one write per batch, with its conversation document
before its messages.

Size: the steps that share the pipelined groups (fold, hand-over, save, notice) and what a fold
needs loaded (``wanted``), which only together keep one write per conversation and batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from services.conversation_store import merge, metrics
from services.conversation_store.calls import call_message_id
from services.conversation_store.changes import ThreadChange, diff, notice
from services.conversation_store.documents import command_message_id, message_id
from services.conversation_store.edits import edited_targets
from services.conversation_store.ports import (
    Forwarder,
    NoticePublisher,
    ThreadRepository,
    Wanted,
    WriteConflict,
)
from services.conversation_store.projection import fold
from services.conversation_store.thread import Position, Thread
from shared import tracing
from shared.consumer import PoisonRecord, Received
from shared.contacts import derived_conversation_id
from shared.events import (
    AppContactSynced,
    AssignConversation,
    CallUpdated,
    ConversationAbsorbed,
    ConversationChanged,
    ConversationMerged,
    MarkRead,
    MessageAccepted,
    MessageEchoed,
    MessageReceived,
    MessageStatusChanged,
    OutboundResult,
    SetConversationStatus,
)
from shared.events.base import Event
from shared.phone import InvalidPhoneNumber, conversation_id, split_conversation_id

log = logging.getLogger(__name__)

Steps = dict[str, list[tuple[Event, Position]]]

# CPU time the fold spends before it lets the event loop run (the write in flight, heartbeats).
FOLD_SLICE_SECONDS = 0.001


@dataclass(frozen=True, slots=True)
class Settled:
    """One group folded: its threads after the fold, and the writes they need."""

    threads: dict[str, Thread]
    changes: list[ThreadChange]


async def _fold_group(loaded: Mapping[str, Thread], steps: Steps) -> Settled:
    """Fold each conversation of the group, yielding to the event loop between conversations
    once a slice of CPU time is used up."""
    folded: dict[str, Thread] = {}
    changes: list[ThreadChange] = []
    busy = 0.0
    slice_started = time.perf_counter()
    for cid, conversation_steps in steps.items():
        folded[cid] = fold(loaded[cid], conversation_steps)
        if change := diff(loaded[cid], folded[cid]):
            changes.append(change)
        if (spent := time.perf_counter() - slice_started) > FOLD_SLICE_SECONDS:
            busy += spent
            await asyncio.sleep(0)
            slice_started = time.perf_counter()
    metrics.FOLD_SECONDS.observe(busy + time.perf_counter() - slice_started)
    return Settled(folded, changes)


def _groups(steps: Steps, size: int) -> list[Steps]:
    """Whole conversations, about ``size`` events per group, in the batch's order."""
    groups: list[Steps] = [{}]
    count = 0
    for cid, conversation_steps in steps.items():
        if count >= size:
            groups.append({})
            count = 0
        groups[-1][cid] = conversation_steps
        count += len(conversation_steps)
    return groups


class StoreHandler:
    """Conversation fold, save and notice of one batch (the records this member owns)."""

    def __init__(
        self,
        repository: ThreadRepository,
        publisher: NoticePublisher,
        sources: Mapping[str, str],
        clock: Callable[[], datetime],
        attempts: int = 3,
        group_events: int = 250,
        forwarder: Forwarder | None = None,
        assign_new: Callable[[list[ThreadChange]], Awaitable[list[ThreadChange]]] | None = None,
    ) -> None:
        self.repository = repository
        self.publisher = publisher
        # Where a merged conversation's hand-over and later events go (merge.py).
        self.forwarder = forwarder
        # Round-robin: new conversations assigned in their first write (round_robin.py).
        self.assign_new = assign_new
        self.sources = sources  # real topic name -> position source ("in", "out", "cmd")
        self.clock = clock
        self.attempts = attempts
        # Events per pipeline group (whole conversations; a batch this small is one group).
        self.group_events = group_events

    async def __call__(self, batch: list[Received[Event]]) -> None:
        steps = self.steps(batch)
        if not steps:
            return
        # One span per batch, in the trace of its first record, linked to the others' traces.
        traces = [r.trace for r in batch] if tracing.enabled() else []
        with tracing.span("conversation.fold", traces, events=len(batch),
                          conversations=len(steps)):
            settled = await self._fold_and_save(steps)
            now = self.clock()
            changes = [c for s in settled for c in s.changes]
            notices = _notices(settled, changes, now)
            with tracing.span("notice.publish", notices=len(notices)):
                await self.publisher.publish(notices)
        self._observe(batch, changes, now)

    async def _fold_and_save(self, steps: Steps) -> list[Settled]:
        """One read for the whole batch (what the cache lacks), then the pipeline of groups."""
        loaded = await self._load(steps)
        settled: list[Settled] = []
        writing: asyncio.Task[Settled] | None = None
        try:
            for group in _groups(steps, self.group_events):
                folded = await self._fold(group, loaded)
                if writing is not None:
                    settled.append(await writing)
                writing = asyncio.create_task(self._write(group, folded))
            assert writing is not None
            settled.append(await writing)
            writing = None
        finally:
            if writing is not None:  # a fold failed: let the write in flight finish first
                with contextlib.suppress(BaseException):
                    await writing
        return settled

    async def _fold(self, steps: Steps, loaded: Mapping[str, Thread] | None) -> Settled:
        """Fold one group, loading it first unless ``loaded`` has it."""
        if loaded is None:
            loaded = await self._load(steps)
        return await _fold_group(loaded, steps)

    async def _load(self, steps: Steps) -> dict[str, Thread]:
        """What folding ``steps`` may read: the messages the events name, then those changed
        by the edits they name (edits.py: a deletion may name an edit, not its message)."""
        needs = {cid: wanted(cid, s) for cid, s in steps.items()}
        loaded = await self.repository.load(needs)
        follow = {cid: Wanted(wamids=targets) for cid, thread in loaded.items()
                  if (targets := edited_targets(thread, needs[cid].wamids))}
        if not follow:
            return loaded
        more = await self.repository.load(follow)
        return {cid: replace(thread, messages={**more[cid].messages, **thread.messages})
                if cid in more else thread for cid, thread in loaded.items()}

    async def _write(self, steps: Steps, folded: Settled) -> Settled:
        """Hand over what the fold addressed to other conversations, then save one group; on a
        write conflict reload, refold and do both again (a second hand-over is a duplicate the
        survivor ignores)."""
        for attempt in range(1, self.attempts + 1):
            try:
                await self._forward(folded)
                if self.assign_new is not None:
                    folded = Settled(folded.threads, await self.assign_new(folded.changes))
                started = time.perf_counter()
                with tracing.span("conversation.save", conversations=len(folded.changes)):
                    await self.repository.save(folded.changes)
                metrics.WRITE_SECONDS.observe(time.perf_counter() - started)
                return folded
            except WriteConflict:
                metrics.CONFLICTS.inc()
                log.warning("write conflict; reloading", extra={"attempt": attempt})
                if attempt == self.attempts:
                    raise
                folded = await self._fold(steps, None)
        raise AssertionError("unreachable")

    async def _forward(self, folded: Settled) -> None:
        """Publish the group's outbox before its save: a crash in between replays the batch,
        which hands over again rather than never."""
        outgoing = [o for thread in folded.threads.values() for o in thread.outbox]
        if not outgoing:
            return
        if self.forwarder is None:
            raise RuntimeError("a merged conversation needs a forwarder to hand its events over")
        await self.forwarder.forward(outgoing)
        metrics.FORWARDED.inc(len(outgoing))

    def steps(self, batch: Sequence[Received[Event]]) -> Steps:
        """The batch's relevant events per conversation, each partition in offset order, the
        partitions merged by event time (their relative order in a poll means nothing)."""
        lanes: dict[str, dict[tuple[str, int], list[tuple[Event, Position]]]] = {}
        for received in batch:
            cid = self.conversation_of(received)
            if cid is None:
                continue
            source = self.sources.get(received.topic, received.topic)
            position = Position(source, received.partition, received.offset)
            lanes.setdefault(cid, {}).setdefault((source, received.partition), []).append(
                (received.event, position))
        return {
            cid: list(heapq.merge(*by_lane.values(), key=lambda s: s[0].occurred_at))
            for cid, by_lane in lanes.items()
        }

    @staticmethod
    def conversation_of(received: Received[Event]) -> str | None:
        event = received.event
        try:
            if isinstance(event, MessageReceived | MessageEchoed):  # an echo names the customer
                p = event.payload
                cid = event.conversation_id or _derived(
                    p.business_phone_number_id, p.from_wa_id, p.from_user_id)
            elif isinstance(event, CallUpdated):
                c = event.payload
                cid = event.conversation_id or _derived(
                    c.business_phone_number_id, c.wa_id, c.user_id)
            elif isinstance(event, AppContactSynced):
                a = event.payload
                cid = event.conversation_id or _derived(a.business_phone_number_id, a.wa_id, None)
            elif isinstance(event, MessageStatusChanged):
                s = event.payload
                cid = event.conversation_id or _derived(
                    s.business_phone_number_id, s.recipient_wa_id, s.recipient_user_id)
            elif isinstance(event, OutboundResult | MarkRead | AssignConversation
                            | SetConversationStatus | ConversationMerged
                            | ConversationAbsorbed):
                cid = event.conversation_id
            else:
                return None  # sends, templates, account updates: not the store's business
            split_conversation_id(cid)
        except (InvalidPhoneNumber, ValueError) as exc:
            raise PoisonRecord(f"no conversation for this event: {exc}") from None
        return cid

    @staticmethod
    def _observe(batch: Sequence[Received[Event]], changes: Sequence[ThreadChange],
                 now: datetime) -> None:
        kinds: dict[str, int] = {}
        for received in batch:
            event = received.event
            kind = getattr(event, "type", type(event).__name__)
            kinds[kind] = kinds.get(kind, 0) + 1
            metrics.END_TO_END_SECONDS.observe(
                max(0.0, (now - event.occurred_at).total_seconds()))
        for kind, count in kinds.items():
            metrics.EVENTS_FOLDED.labels(kind).inc(count)
        metrics.CONVERSATIONS_CHANGED.inc(len(changes))


def _notices(
    settled: Sequence[Settled], changes: Sequence[ThreadChange], now: datetime
) -> list[ConversationChanged]:
    """One notice per changed conversation, and one per conversation that only replayed."""
    written = {c.conversation.id for c in changes}
    # An unlisted conversation (only stubs so far, listing.py) has nothing to show: no notice.
    notices = [notice(c.conversation, c.message_ids, now) for c in changes
               if c.conversation.listed]
    # A replayed event may mean the last attempt wrote but never announced: announce again.
    notices += [notice(t.conversation, [], now) for s in settled
                for cid, t in s.threads.items()
                if t.replayed and t.conversation is not None and t.conversation.listed
                and cid not in written]
    return notices


def wanted(cid: str, steps: Sequence[tuple[Event, Position]]) -> Wanted:
    """Which message documents of conversation ``cid`` folding these events may read."""
    need = Wanted()
    for event, _ in steps:
        if isinstance(event, MessageReceived | MessageEchoed):
            p = event.payload
            need.ids.add(message_id(cid, p.wamid))
            for key in ("message_id", "original_message_id"):  # a reaction's, an edit's target
                target = p.content.get(key)
                if isinstance(target, str):
                    need.wamids.add(target)
            if p.original_wamid:
                need.wamids.add(p.original_wamid)
            if p.context is not None and p.context.message_id:
                need.wamids.add(p.context.message_id)
        elif isinstance(event, CallUpdated):
            need.ids.add(call_message_id(cid, event.payload.call_id))
        elif isinstance(event, MessageStatusChanged):
            need.wamids.add(event.payload.wamid)
            if event.payload.command_id is not None:  # a send in doubt has no wamid stored
                need.ids.add(command_message_id(cid, event.payload.command_id))
        elif isinstance(event, OutboundResult):
            need.ids.add(command_message_id(cid, event.command_id))
            if isinstance(event, MessageAccepted):
                need.wamids.add(event.wamid)
                if event.content.reaction_to_wamid:
                    need.wamids.add(event.content.reaction_to_wamid)
        elif isinstance(event, ConversationMerged | ConversationAbsorbed):
            need.all |= merge.needs(event, cid, need.ids, need.wamids)
    return need


def _derived(number_id: str, wa_id: str | None, user_id: str | None) -> str:
    """An event without a conversation id (older producers): by number (an invalid one is a
    poison record), else by BSUID."""
    if wa_id:
        return conversation_id(number_id, wa_id)
    return derived_conversation_id(number_id, None, user_id)
