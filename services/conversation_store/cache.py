"""An in-process cache of the threads this member folds, in front of the database.

It is safe because one member folds a conversation at a time (ownership.py) and the store is
the only writer of both collections: what this process wrote last is what the database holds.
- At every rebalance it is dropped whole (aiokafka rebalances eagerly: every partition is revoked
  before any is assigned), so a conversation another member folded meanwhile is read again.
- A conversation whose write failed or conflicted is dropped, so the retry reads the database.
- It holds at most ``max_messages`` messages; the least recently used threads go first.

It answers exactly what a database load answers (the conversation, and the messages named by
``_id`` or wamid), and asks the database only for what it cannot answer:
- a conversation it has never seen: the whole load;
- a conversation found absent: nothing more, ever. Conversations are written before their
  messages, so a conversation without a document has no messages, and every message it gets
  from then on is written by this process;
- a conversation found in the database: only the ids and wamids it has not looked up yet.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from services.conversation_store import metrics
from services.conversation_store.changes import ThreadChange
from services.conversation_store.documents import Conversation, Message
from services.conversation_store.ports import ThreadRepository, Wanted
from services.conversation_store.thread import Thread


@dataclass(slots=True)
class CachedThread:
    """What this process knows of one conversation's documents."""

    conversation: Conversation | None
    messages: dict[str, Message] = field(default_factory=dict)
    by_wamid: dict[str, set[str]] = field(default_factory=dict)
    # Every message of the conversation is in ``messages`` (it had no document when first seen).
    complete: bool = False
    # Looked up before and not found (meaningful only when not complete).
    absent_ids: set[str] = field(default_factory=set)
    # Wamids looked up before: all their messages are in ``messages``.
    known_wamids: set[str] = field(default_factory=set)

    def missing(self, need: Wanted) -> Wanted | None:
        """What must still be read from the database to answer ``need``; None if nothing."""
        if self.complete:
            return None
        if need.all:
            return Wanted(all=True)
        ids = {i for i in need.ids if i not in self.messages and i not in self.absent_ids}
        wamids = need.wamids - self.known_wamids
        return Wanted(ids=ids, wamids=wamids) if ids or wamids else None

    def learn(self, loaded: Thread, asked: Wanted) -> None:
        """Take in a database answer to ``asked``."""
        for message in loaded.messages.values():
            self._put(message)
        if asked.all:
            self.complete = True  # every message read; from now on only this process adds
            return
        self.absent_ids |= {i for i in asked.ids if i not in self.messages}
        self.known_wamids |= asked.wamids

    def view(self, cid: str, need: Wanted) -> Thread:
        """The thread a database load of ``need`` would give."""
        if need.all:
            return Thread(id=cid, conversation=self.conversation, messages=dict(self.messages))
        found = {i: self.messages[i] for i in need.ids if i in self.messages}
        for wamid in need.wamids:
            for i in self.by_wamid.get(wamid, ()):
                found[i] = self.messages[i]
        return Thread(id=cid, conversation=self.conversation, messages=found)

    def apply(self, change: ThreadChange) -> None:
        """Take in a write that succeeded."""
        self.conversation = change.conversation
        for message in [*change.inserts, *change.replaces]:
            self._put(message)
            self.absent_ids.discard(message.id)
        for mid in change.deletes:
            self._drop(mid)
            self.absent_ids.add(mid)

    def _put(self, message: Message) -> None:
        self._drop(message.id)
        self.messages[message.id] = message
        if message.wamid is not None:
            self.by_wamid.setdefault(message.wamid, set()).add(message.id)

    def _drop(self, mid: str) -> None:
        old = self.messages.pop(mid, None)
        if old is not None and old.wamid is not None:
            ids = self.by_wamid.get(old.wamid)
            if ids is not None:
                ids.discard(mid)
                if not ids:
                    del self.by_wamid[old.wamid]


class CachingRepository:
    """A ThreadRepository that answers from memory what it can, and reads the rest."""

    def __init__(self, inner: ThreadRepository, max_messages: int = 100_000) -> None:
        self.inner = inner
        self.max_messages = max_messages
        self.threads: OrderedDict[str, CachedThread] = OrderedDict()
        self.size = 0  # messages held

    async def load(self, wanted: Mapping[str, Wanted]) -> dict[str, Thread]:
        result: dict[str, Thread] = {}
        asked: dict[str, Wanted] = {}
        for cid, need in wanted.items():
            cached = self.threads.get(cid)
            if cached is None:
                asked[cid] = need
                continue
            self.threads.move_to_end(cid)
            if (gap := cached.missing(need)) is None:
                result[cid] = cached.view(cid, need)
            else:
                asked[cid] = gap
        metrics.CACHE_LOOKUPS.labels("hit").inc(len(result))
        metrics.CACHE_LOOKUPS.labels("miss").inc(len(asked))
        if asked:
            loaded = await self.inner.load(asked)
            for cid, thread in loaded.items():
                cached = self.threads.get(cid)
                if cached is None:
                    # No conversation document means no messages (conversations are written
                    # first), and from now on only this process adds any.
                    complete = thread.conversation is None and not thread.messages
                    cached = CachedThread(conversation=thread.conversation, complete=complete)
                    self.threads[cid] = cached
                before = len(cached.messages)
                cached.learn(thread, asked[cid])
                self.size += len(cached.messages) - before
                result[cid] = cached.view(cid, wanted[cid])
        self._trim()
        return {cid: result[cid] for cid in wanted}

    async def save(self, changes: Sequence[ThreadChange]) -> None:
        try:
            await self.inner.save(changes)
        except BaseException:
            # Part of it may be written: read these conversations from the database again.
            for change in changes:
                self._evict(change.conversation.id)
            raise
        for change in changes:
            cached = self.threads.get(change.conversation.id)
            if cached is not None:
                before = len(cached.messages)
                cached.apply(change)
                self.size += len(cached.messages) - before
        self._trim()

    def forget(self) -> None:
        """Drop everything: this member may no longer own what it cached (a rebalance)."""
        self.threads.clear()
        self.size = 0

    def _evict(self, cid: str) -> None:
        dropped = self.threads.pop(cid, None)
        if dropped is not None:
            self.size -= len(dropped.messages)

    def _trim(self) -> None:
        while self.size > self.max_messages and self.threads:
            _, oldest = self.threads.popitem(last=False)
            self.size -= len(oldest.messages)
