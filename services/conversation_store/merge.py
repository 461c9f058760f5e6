"""Merging two conversations of one customer (docs/architecture.md): the absorbed conversation's
tombstone and hand-over, forwarding, and the survivor's intake. Pure; projection.py applies them.

- :func:`merged` (``ConversationMerged``, folded by the owner of the absorbed conversation): the
  conversation is marked ``merged_into`` the survivor, and its content leaves in
  ``ConversationAbsorbed`` parts keyed by the survivor (the thread's outbox, published before the
  tombstone is saved: a crash hands it over again, and the survivor takes a part twice as once).
  A merge into a conversation this one absorbed (a cycle) is refused.
- :func:`forward`: any later event of a merged conversation (in flight, or routed by a stale alias
  cache) is re-published keyed by the survivor instead of folded.
- :func:`absorbed` (``ConversationAbsorbed``, folded by the owner of the survivor): each message,
  re-keyed to the survivor, is inserted unless the survivor has it (by id or wamid), taking in a
  stub that came first, or giving its statuses to the one already there. Only messages newly
  inserted, by a fresh position, have conversation effects (unread, last message, reopen), and
  the conversation's fields are maxima (identity clocks, window, read marker, latest assignment
  and status); so parts in any order, twice, or replayed give one result: the one the original
  events would have given folded into the survivor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from uuid import NAMESPACE_URL, uuid5

import orjson

from services.conversation_store.commands import COMMANDS_KEPT
from services.conversation_store.conversations import (
    UNREAD_KEPT,
    ensure_conversation,
    on_message_shown,
)
from services.conversation_store.documents import Conversation, Message, UnreadEntry, ms
from services.conversation_store.identity import adopt, refresh_search_keys
from services.conversation_store.messages import absorb, by_wamid
from services.conversation_store.statuses import better_outcome
from services.conversation_store.thread import Outgoing, Step, Thread
from shared.events import JsonObject
from shared.events.base import Event
from shared.events.merges import AbsorbedThread, ConversationAbsorbed, ConversationMerged
from shared.window import window_expires_at

# Message documents per ConversationAbsorbed record, in JSON bytes (Kafka's default limit is 1 MB).
PART_BYTES = 400_000
MERGED_FROM_KEPT = 100
_HANDOVER_NAMESPACE = uuid5(NAMESPACE_URL, "urn:whatsapp-inbox:conversation-absorbed")


def merged_into(thread: Thread) -> str | None:
    """The survivor a merged conversation forwards to, else None."""
    return thread.conversation.merged_into if thread.conversation is not None else None


def merged(event: ConversationMerged, thread: Thread, step: Step) -> Thread:
    """Mark the conversation merged and hand its content to the survivor."""
    survivor = event.payload.survivor_conversation_id
    current = thread.conversation
    if survivor == thread.id or (current is not None and survivor in current.merged_from):
        return thread  # itself, or one it absorbed: merging would make a cycle
    conversation = ensure_conversation(thread, event, event.payload.business_phone_number_id)
    conversation = conversation.model_copy(update={
        "merged_into": survivor, "merged_at": ms(event.occurred_at)})
    handover = tuple(Outgoing(part, "in") for part in hand_over(
        conversation, list(thread.messages.values()), survivor, event.occurred_at))
    return replace(thread, conversation=conversation, outbox=(*thread.outbox, *handover))


def forward(event: Event, thread: Thread, source: str) -> Thread:
    """An event of a merged conversation, re-addressed to the survivor (the thread's outbox)."""
    target = merged_into(thread)
    assert target is not None
    if isinstance(event, ConversationMerged) and (
            event.payload.survivor_conversation_id in (target, thread.id)):
        return thread  # the merge already done, again
    if isinstance(event, ConversationAbsorbed) and (
            event.payload.absorbed_conversation_id == target):
        return thread  # handed back to where it came from: a cycle, dropped
    moved = event.model_copy(update={"conversation_id": target})
    return replace(thread, outbox=(*thread.outbox, Outgoing(moved, source)))


def needs(event: ConversationMerged | ConversationAbsorbed, cid: str, ids: set[str],
          wamids: set[str]) -> bool:
    """What folding ``event`` into ``cid`` reads: True for every message (a merge hands the
    whole thread over); a part adds its messages' ids (re-keyed) and wamids."""
    if isinstance(event, ConversationMerged):
        return True
    for document in event.payload.messages:
        ids.add(f"{cid}/{str(document.get('_id', '')).partition('/')[2]}")
        if isinstance(wamid := document.get("wamid"), str):
            wamids.add(wamid)
    return False


def hand_over(conversation: Conversation, messages: Sequence[Message], survivor: str,
              at: datetime) -> list[ConversationAbsorbed]:
    """The absorbed conversation's content in parts of at most about :data:`PART_BYTES` of
    message documents; each part names the unread messages among its own."""
    ordered = sorted(messages, key=lambda m: m.id)
    unread = unread_wamids(conversation, ordered)
    parts: list[list[Message]] = [[]]
    size = 0
    for message in ordered:
        weight = len(orjson.dumps(message.model_dump(mode="json", by_alias=True)))
        if parts[-1] and size + weight > PART_BYTES:
            parts.append([])
            size = 0
        parts[-1].append(message)
        size += weight
    document: JsonObject = conversation.model_dump(mode="json", by_alias=True)
    return [ConversationAbsorbed(
        event_id=uuid5(_HANDOVER_NAMESPACE, f"{conversation.id}>{survivor}#{n}/{len(parts)}"),
        occurred_at=at, tenant_id=conversation.tenant_id, conversation_id=survivor,
        payload=AbsorbedThread(
            absorbed_conversation_id=conversation.id, conversation=document,
            messages=[m.model_dump(mode="json", by_alias=True) for m in part],
            unread={m.wamid: unread[m.wamid] for m in part
                    if m.wamid is not None and m.wamid in unread},
            part=n, parts=len(parts)),
    ) for n, part in enumerate(parts)]


def unread_wamids(conversation: Conversation, messages: Sequence[Message]
                  ) -> dict[str, datetime]:
    """The conversation's unread inbound messages (wamid -> when it arrived): the ones its fold
    keeps, and, when the count is beyond what it keeps, the newest older ones not yet read."""
    kept = {u.wamid: u.at for u in conversation.fold.unread}
    beyond = conversation.unread_count - len(kept)
    if beyond <= 0:
        return kept
    oldest = min(kept.values(), default=None)
    read = conversation.last_read_at
    older = sorted(
        (m for m in messages if _counts(m) and m.wamid not in kept and m.received_at is not None
         and (oldest is None or m.received_at <= oldest)
         and (read is None or m.received_at > read)),
        key=lambda m: (m.received_at, m.id), reverse=True)
    return {**kept, **{m.wamid: m.received_at for m in older[:beyond]
                       if m.wamid is not None and m.received_at is not None}}


def absorbed(event: ConversationAbsorbed, thread: Thread, step: Step) -> Thread:
    """Take in one part of an absorbed conversation."""
    p = event.payload
    if p.absorbed_conversation_id == thread.id:
        return thread
    source = Conversation.model_validate(p.conversation)
    conversation = ensure_conversation(thread, event, source.business_phone_number_id)
    messages = dict(thread.messages)
    inserted: list[Message] = []
    for document in p.messages:
        incoming = rekeyed(Message.model_validate(document), thread.id)
        messages, new = take_message(messages, incoming)
        if new is not None:
            inserted.append(new)
    if step.fresh:
        conversation = _read_by(take_conversation(conversation, source), source.last_read_at)
        for message in sorted(inserted, key=lambda m: (m.sort_key or "", m.id)):
            if _counts(message) or (message.direction == "outbound"
                                    and message.outcome == "accepted"):
                # What the fold shows as last: customer messages and sends Meta accepted.
                conversation = on_message_shown(conversation, message)
            if _counts(message):
                conversation = _inbound(conversation, message, p.unread)
    if messages == thread.messages and conversation == thread.conversation:
        return thread
    return replace(thread, conversation=conversation, messages=messages)


def rekeyed(message: Message, survivor: str) -> Message:
    """The message as the survivor's: ``{survivor}/{wamid}`` or ``{survivor}/cmd:{command}``."""
    _, _, rest = message.id.partition("/")
    return message.model_copy(update={"id": f"{survivor}/{rest}", "conversation_id": survivor})


def take_message(messages: Mapping[str, Message], incoming: Message
                 ) -> tuple[dict[str, Message], Message | None]:
    """Insert ``incoming`` unless the thread has it (by id, else by wamid); returns the messages
    and the message newly in the thread, if any (a stub, or a duplicate, is not)."""
    out = dict(messages)
    existing = out.get(incoming.id)
    if existing is None and incoming.wamid is not None:
        existing = by_wamid(out, incoming.wamid)
    if existing is None:
        out[incoming.id] = incoming
        return out, None if incoming.stub else incoming
    if existing.stub and not incoming.stub:
        # The survivor's stub (statuses, reactions that came first) joins the message.
        message = absorb(incoming, existing)
        if existing.id != incoming.id:
            del out[existing.id]
        out[incoming.id] = message
        return out, message
    # Already there (or both placeholders): the incoming one's statuses and flags join it.
    message = absorb(existing, incoming)
    updates: dict[str, object] = {}
    if incoming.outcome is not None and incoming.outcome != message.outcome and better_outcome(
            message.outcome, incoming.outcome):
        updates["outcome"] = incoming.outcome
    if message.wamid is None and incoming.wamid is not None:
        updates["wamid"] = incoming.wamid
    if updates:
        message = message.model_copy(update=updates)
    if message != existing:
        out[existing.id] = message
    return out, None


def take_conversation(conversation: Conversation, source: Conversation) -> Conversation:
    """The survivor with what the absorbed conversation knew; every rule a maximum."""
    conversation = adopt(conversation, source)
    updates: dict[str, object] = {}
    if source.contact_name and source.contact_name_at is not None and (
            conversation.contact_name_at is None
            or source.contact_name_at > conversation.contact_name_at):
        updates.update(contact_name=source.contact_name, contact_name_at=source.contact_name_at)
    if source.business_display_number and not conversation.business_display_number:
        updates["business_display_number"] = source.business_display_number
    if _later(source.last_inbound_at, conversation.last_inbound_at):
        updates.update(last_inbound_at=source.last_inbound_at,
                       window_expires_at=window_expires_at(source.last_inbound_at))
    if _later(source.window_closed_at, conversation.window_closed_at):
        updates["window_closed_at"] = source.window_closed_at
    if _later(source.last_read_at, conversation.last_read_at):
        updates.update(last_read_at=source.last_read_at, last_read_by=source.last_read_by)
    if _later(source.last_agent_reply_at, conversation.last_agent_reply_at):
        updates.update(last_agent_reply_at=source.last_agent_reply_at,
                       last_agent_id=source.last_agent_id)
    if _later(source.status_changed_at, conversation.status_changed_at):
        updates.update(status=source.status, status_changed_at=source.status_changed_at,
                       status_changed_by=source.status_changed_by)
    if _later(source.assigned_at, conversation.assigned_at):
        updates.update(assignee_id=source.assignee_id, assigned_at=source.assigned_at,
                       assigned_by=source.assigned_by)
    if source.created_at < conversation.created_at:
        updates["created_at"] = source.created_at
    if source.updated_at > conversation.updated_at:
        updates["updated_at"] = source.updated_at
    merged_from = list(conversation.merged_from)
    for cid in (source.id, *source.merged_from):
        if cid not in merged_from and cid != conversation.id:
            merged_from.append(cid)
    if merged_from != conversation.merged_from:
        updates["merged_from"] = merged_from[-MERGED_FROM_KEPT:]
    commands = [*conversation.fold.commands,
                *(c for c in source.fold.commands if c not in conversation.fold.commands)]
    if commands != conversation.fold.commands:
        updates["fold"] = conversation.fold.model_copy(
            update={"commands": commands[-COMMANDS_KEPT:]})
    if not updates:
        return conversation
    if "contact_name" in updates:
        return refresh_search_keys(conversation.model_copy(update=updates))
    return conversation.model_copy(update=updates)


def _read_by(conversation: Conversation, read_at: datetime | None) -> Conversation:
    """The survivor's unread messages that arrived before the absorbed conversation was read
    (as a mark-read of the one thread would have read them; commands.mark_read's rule)."""
    unread = conversation.fold.unread
    if read_at is None or not unread or all(u.at > read_at for u in unread):
        return conversation
    left = [u for u in unread if u.at > read_at]
    return conversation.model_copy(update={
        "unread_count": len(left),
        "fold": conversation.fold.model_copy(update={"unread": left})})


def _inbound(conversation: Conversation, message: Message,
             unread: Mapping[str, datetime]) -> Conversation:
    """A customer message newly in the survivor: unread if it was in the absorbed conversation
    and arrived after the survivor's read marker (the later of the two conversations'), and a
    resolved conversation reopens when it came after the resolve."""
    updates: dict[str, object] = {}
    read_at = conversation.last_read_at
    if message.wamid is not None and message.wamid in unread and (
            read_at is None or ms(unread[message.wamid]) > read_at):
        entries = sorted([*conversation.fold.unread,
                          UnreadEntry(wamid=message.wamid, at=ms(unread[message.wamid]))],
                         key=lambda u: (u.at, u.wamid))
        updates.update(unread_count=conversation.unread_count + 1,
                       fold=conversation.fold.model_copy(
                           update={"unread": entries[-UNREAD_KEPT:]}))
    received_at = message.received_at
    changed_at = conversation.status_changed_at
    if conversation.status == "resolved" and received_at is not None and (
            changed_at is None or received_at > changed_at):
        updates.update(status="open", status_changed_at=received_at, status_changed_by=None)
    return conversation.model_copy(update=updates) if updates else conversation


def _counts(message: Message) -> bool:
    """A customer message the fold counted (unread, reopen): inbound, shown, not a stub."""
    return message.direction == "inbound" and message.visible and not message.stub


def _later(value: datetime | None, than: datetime | None) -> bool:
    return value is not None and (than is None or value > than)
