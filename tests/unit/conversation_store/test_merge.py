"""Two conversations of one customer merged (merge.py): the absorbed conversation's tombstone and
hand-over, forwarding, and the survivor's intake; duplicates, redeliveries and parts in any order
change nothing, and the survivor ends as if the events had been folded into it directly."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from services.conversation_store import merge
from services.conversation_store.documents import (
    Conversation,
    Message,
    StatusEntry,
    command_message_id,
    message_id,
)
from services.conversation_store.thread import Position, Step, Thread
from shared.events import (
    AbsorbedThread,
    ConversationAbsorbed,
    ConversationMerged,
    MarkRead,
    Merge,
)
from tests.unit.conversation_store.builders import (
    BSUID,
    CID,
    CUSTOMER,
    NUMBER_ID,
    TENANT,
    UCID,
    accepted,
    assign,
    at,
    mark_read,
    received,
    set_status,
    status,
    user_received,
    user_status,
)
from tests.unit.conversation_store.fakes import Feeder

STEP = Step(ConversationMerged(occurred_at=at(0), tenant_id=TENANT, conversation_id=UCID,
                               payload=Merge(survivor_conversation_id=CID,
                                             business_phone_number_id=NUMBER_ID)),
            Position("in", 0, 0), fresh=True)


def merged(t: float = 50, absorbed: str = UCID, survivor: str = CID) -> ConversationMerged:
    return ConversationMerged(
        occurred_at=at(t), tenant_id=TENANT, conversation_id=absorbed,
        payload=Merge(survivor_conversation_id=survivor, business_phone_number_id=NUMBER_ID,
                      wa_id=CUSTOMER, user_id=BSUID))


def for_survivor(event: Any) -> Any:
    """An event as it would have been addressed with both identifiers known from the start."""
    return event.model_copy(update={"conversation_id": CID})


def thread_state(feeder: Feeder, cid: str) -> dict[str, Any]:
    """One conversation's documents, without what records how they were written (version,
    positions, created_at, merged_from) and with lists that keep first-seen order sorted."""
    doc = dict(feeder.repository.conversations[cid])
    for key in ("version", "created_at", "merged_from"):
        doc.pop(key, None)
    doc["fold"] = {k: v for k, v in doc["fold"].items() if k != "positions"}
    doc["fold"]["unread"] = sorted(doc["fold"]["unread"], key=lambda u: u["wamid"])
    for key in ("customer_wa_ids", "customer_user_ids", "search_keys"):
        doc[key] = sorted(doc[key])
    messages = {mid: {k: v for k, v in m.items() if k != "version"}
                for mid, m in feeder.repository.messages.items() if m["conversation_id"] == cid}
    return {"conversation": doc, "messages": messages}


# -- the absorbed side: tombstone, hand-over, forwarding ------------------------------------------

class TestTheAbsorbedConversation:
    async def test_a_merge_marks_it_and_hands_every_message_over(self):
        store = Feeder()
        await store.feed(user_received("u1", 0, name="Ana"), user_received("u2", 5),
                         user_status("o9", "delivered", 6))
        await store.feed(merged())
        conv = store.repository.conversation(UCID)
        assert (conv.merged_into, conv.merged_at) == (CID, at(50))
        (part,) = [o.event for o in store.forwarder.forwarded]
        assert isinstance(part, ConversationAbsorbed)
        assert part.conversation_id == CID
        assert part.payload.absorbed_conversation_id == UCID
        assert sorted(str(m["_id"]) for m in part.payload.messages) == sorted(
            [message_id(UCID, "u1"), message_id(UCID, "u2"), message_id(UCID, "o9")])
        assert set(part.payload.unread) == {"u1", "u2"}
        # The tombstone's notice says where it went: the inbox drops it from the list.
        assert store.publisher.published[-1].summary.merged_into == CID

    async def test_the_hand_over_is_published_before_the_tombstone_is_saved(self):
        store = Feeder()
        await store.feed(user_received("u1", 0))
        store.repository.conflict_once = True  # the save fails once: the batch is refolded
        await store.feed(merged())
        parts = [o.event for o in store.forwarder.forwarded]
        assert len(parts) == 2
        assert parts[0] == parts[1]
        assert store.repository.conversation(UCID).merged_into == CID

    async def test_a_redelivered_merge_hands_over_again_and_the_survivor_takes_it_once(self):
        store = Feeder()
        await store.feed(user_received("u1", 0), user_received("u2", 1))
        await store.feed(merged())
        await store.deliver()
        before = thread_state(store, CID)
        await store.replay(store.log)  # the whole log again, as after a crash before a commit
        await store.deliver()
        assert thread_state(store, CID) == before
        assert store.repository.conversation(CID).unread_count == 2

    async def test_later_events_are_forwarded_not_folded(self):
        store = Feeder()
        await store.feed(user_received("u1", 0))
        await store.feed(merged())
        store.forwarder.forwarded.clear()
        late = [user_received("u2", 60), mark_read("r1", 61), assign("a1", 62, "agent-7"),
                user_status("o1", "read", 63)]
        late = [e.model_copy(update={"conversation_id": UCID}) for e in late]
        version = store.repository.conversation(UCID).version
        await store.feed(*late, batch=4)
        assert [o.event for o in store.forwarder.forwarded] == [for_survivor(e) for e in late]
        assert [o.source for o in store.forwarder.forwarded] == ["in", "cmd", "cmd", "in"]
        assert store.repository.conversation(UCID).version == version  # nothing written
        assert message_id(UCID, "u2") not in store.repository.messages

    async def test_events_before_the_merge_in_its_batch_are_handed_over_after_it_forwarded(self):
        store = Feeder()
        await store.feed(user_received("u1", 0), merged(1), user_received("u2", 5), batch=3)
        kinds = [type(o.event).__name__ for o in store.forwarder.forwarded]
        assert kinds == ["ConversationAbsorbed", "MessageReceived"]
        (part,) = [o.event for o in store.forwarder.forwarded
                   if isinstance(o.event, ConversationAbsorbed)]
        assert [m["_id"] for m in part.payload.messages] == [message_id(UCID, "u1")]

    async def test_the_same_merge_twice_is_once_and_a_merge_onwards_moves_the_survivor(self):
        store = Feeder()
        await store.feed(user_received("u1", 0), merged())
        store.forwarder.forwarded.clear()
        await store.feed(merged(60))
        assert store.forwarder.forwarded == []
        other = f"{NUMBER_ID}:34600000000"
        await store.feed(merged(61, survivor=other))
        (onwards,) = [o.event for o in store.forwarder.forwarded]
        assert isinstance(onwards, ConversationMerged)
        assert (onwards.conversation_id, onwards.payload.survivor_conversation_id) == (CID, other)

    def test_a_merge_into_a_conversation_it_absorbed_is_refused(self):
        conv = _conversation(UCID, merged_from=[CID])
        thread = Thread(id=UCID, conversation=conv)
        assert merge.merged(merged(), thread, STEP) is thread
        itself = Thread(id=CID, conversation=_conversation(CID))
        assert merge.merged(merged(absorbed=CID), itself, STEP) is itself

    def test_a_part_handed_back_to_its_source_is_dropped(self):
        survivor = Thread(id=CID, conversation=_conversation(CID, merged_into=UCID))
        back = _part(UCID, [])
        assert merge.forward(back, survivor, "in") is survivor

    def test_a_merge_of_a_conversation_never_stored_still_leaves_a_tombstone(self):
        thread = merge.merged(merged(), Thread(id=UCID), STEP)
        assert thread.conversation is not None
        assert thread.conversation.merged_into == CID
        assert thread.conversation.customer_user_ids == [BSUID]
        (out,) = thread.outbox
        assert isinstance(out.event, ConversationAbsorbed)
        assert out.event.payload.messages == []

    def test_big_threads_go_in_parts_under_the_limit(self, monkeypatch: pytest.MonkeyPatch):
        monkeypatch.setattr(merge, "PART_BYTES", 3000)
        conv = _conversation(UCID)
        messages = [_message(UCID, f"u{n:03}", text="x" * 500) for n in range(20)]
        parts = merge.hand_over(conv, messages, CID, at(0))
        assert len(parts) > 3
        assert sorted(str(m["_id"]) for p in parts for m in p.payload.messages) == sorted(
            m.id for m in messages)
        assert [p.payload.part for p in parts] == list(range(len(parts)))
        assert {p.payload.parts for p in parts} == {len(parts)}
        assert len({p.event_id for p in parts}) == len(parts)
        for p in parts:
            assert sum(len(Message.model_validate(m).model_dump_json())
                       for m in p.payload.messages) <= 3000 + 1000

    def test_unread_beyond_the_kept_entries_is_reconstructed(self):
        kept = [_message(UCID, f"u{n}", at_s=n) for n in range(5)]
        conv = _conversation(UCID, unread_count=3, last_read_at=at(0.5), fold={
            "unread": [{"wamid": "u4", "at": at(4)}]})
        # u4 is kept; two more are unread beyond it: the newest older ones after the last read.
        assert set(merge.unread_wamids(conv, kept)) == {"u4", "u3", "u2"}


# -- the survivor: intake --------------------------------------------------------------------------

def _conversation(cid: str, **fields: Any) -> Conversation:
    by_user = cid == UCID
    base: dict[str, Any] = {
        "_id": cid, "tenant_id": TENANT, "business_phone_number_id": NUMBER_ID,
        "customer_wa_id": None if by_user else CUSTOMER,
        "customer_wa_ids": [] if by_user else [CUSTOMER],
        "customer_user_id": BSUID if by_user else None,
        "customer_user_ids": [BSUID] if by_user else [],
        "created_at": at(0), "updated_at": at(0)}
    return Conversation.model_validate({**base, **fields})


def _message(cid: str, wamid: str, *, at_s: float = 0, text: str = "hi",
             **fields: Any) -> Message:
    return Message.model_validate({
        "_id": message_id(cid, wamid), "tenant_id": TENANT, "conversation_id": cid,
        "business_phone_number_id": NUMBER_ID, "direction": "inbound", "wamid": wamid,
        "message_type": "text", "content": {"body": text}, "preview": text,
        "sent_at": at(at_s), "received_at": at(at_s + 1),
        "sort_key": f"{int(at(at_s).timestamp() * 1000):014d}."
                    f"{int(at(at_s + 1).timestamp() * 1000):014d}.{wamid}",
        "status": "received", "status_at": at(at_s + 1), **fields})


def _part(source: str, messages: list[Message], conversation: Conversation | None = None,
          unread: dict[str, Any] | None = None, part: int = 0, parts: int = 1,
          survivor: str = CID) -> ConversationAbsorbed:
    conv = conversation or _conversation(source)
    return ConversationAbsorbed(
        occurred_at=at(50), tenant_id=TENANT, conversation_id=survivor,
        payload=AbsorbedThread(
            absorbed_conversation_id=source, conversation=conv.model_dump(mode="json",
                                                                          by_alias=True),
            messages=[m.model_dump(mode="json", by_alias=True) for m in messages],
            unread=unread or {}, part=part, parts=parts))


def _step(event: Any, fresh: bool = True) -> Step:
    return Step(event, Position("in", 0, 99), fresh)


class TestTheSurvivor:
    def test_messages_are_rekeyed_and_inserted_with_their_effects(self):
        survivor = Thread(id=CID, conversation=_conversation(CID))
        part = _part(UCID, [_message(UCID, "u1", at_s=10), _message(UCID, "u2", at_s=20)],
                     unread={"u2": at(21)})
        out = merge.absorbed(part, survivor, _step(part))
        assert set(out.messages) == {message_id(CID, "u1"), message_id(CID, "u2")}
        assert {m.conversation_id for m in out.messages.values()} == {CID}
        conv = out.conversation
        assert conv is not None
        assert conv.unread_count == 1  # u1 was read in the absorbed conversation
        assert [u.wamid for u in conv.fold.unread] == ["u2"]
        assert conv.last_message_id == message_id(CID, "u2")
        assert conv.merged_from == [UCID]
        assert conv.customer_user_ids == [BSUID]
        assert conv.customer_wa_id == CUSTOMER  # a number-keyed survivor keeps its number

    def test_a_duplicate_part_changes_nothing(self):
        survivor = Thread(id=CID, conversation=_conversation(CID))
        part = _part(UCID, [_message(UCID, "u1")], unread={"u1": at(1)})
        once = merge.absorbed(part, survivor, _step(part))
        twice = merge.absorbed(part, once, _step(part))
        assert twice is once

    def test_a_replayed_part_redoes_the_messages_not_the_effects(self):
        survivor = Thread(id=CID, conversation=_conversation(CID))
        part = _part(UCID, [_message(UCID, "u1")], unread={"u1": at(1)})
        replayed = merge.absorbed(part, survivor, _step(part, fresh=False))
        assert set(replayed.messages) == {message_id(CID, "u1")}
        assert replayed.conversation == survivor.conversation

    def test_a_message_the_survivor_has_only_gives_it_its_statuses(self):
        mine = _message(CID, "o1", direction="outbound", status="delivered", statuses=[
            {"status": "delivered", "at": at(2)}])
        survivor = Thread(id=CID, conversation=_conversation(CID), messages={mine.id: mine})
        theirs = _message(UCID, "o1", direction="outbound", stub=True, visible=False,
                          statuses=[{"status": "read", "at": at(3)}])
        out = merge.absorbed(_part(UCID, [theirs]), survivor, _step(None))
        (only,) = out.messages.values()
        assert only.id == mine.id
        assert [s.status for s in only.statuses] == ["delivered", "read"]
        assert only.status == "read"
        assert out.conversation is not None
        assert out.conversation.unread_count == 0

    def test_the_survivors_stub_joins_the_message_that_arrives(self):
        stub = _message(CID, "u1", stub=True, visible=False, sort_key=None,
                        reactions=[{"by": "business", "emoji": "👍", "at": at(9)}],
                        fold={"reaction_at": {"business": at(9)}})
        survivor = Thread(id=CID, conversation=_conversation(CID), messages={stub.id: stub})
        part = _part(UCID, [_message(UCID, "u1")], unread={"u1": at(1)})
        out = merge.absorbed(part, survivor, _step(part))
        (message,) = out.messages.values()
        assert not message.stub
        assert message.visible
        assert [r.emoji for r in message.reactions] == ["👍"]
        assert out.conversation is not None
        assert out.conversation.unread_count == 1

    def test_a_stub_by_command_is_matched_by_wamid(self):
        sent = _message(CID, "o1", direction="outbound", command_id="c1", outcome="accepted")
        sent = sent.model_copy(update={"id": command_message_id(CID, "c1")})
        survivor = Thread(id=CID, conversation=_conversation(CID), messages={sent.id: sent})
        stub = _message(UCID, "o1", direction="outbound", stub=True, visible=False,
                        statuses=[{"status": "sent", "at": at(1)}])
        out = merge.absorbed(_part(UCID, [stub]), survivor, _step(None))
        assert set(out.messages) == {sent.id}
        assert out.messages[sent.id].statuses == [StatusEntry(status="sent", at=at(1))]

    def test_parts_in_any_order_give_one_result(self):
        messages = [_message(UCID, f"u{n}", at_s=n) for n in range(4)]
        unread = {f"u{n}": at(n + 1) for n in range(4)}
        parts = [_part(UCID, messages[:2], unread=unread, part=0, parts=2),
                 _part(UCID, messages[2:], unread=unread, part=1, parts=2)]
        results = set()
        for order in itertools.permutations([*parts, parts[0]]):
            thread = Thread(id=CID, conversation=_conversation(CID))
            for part in order:
                thread = merge.absorbed(part, thread, _step(part))
            assert thread.conversation is not None
            results.add((thread.conversation.model_dump_json(),
                         tuple(sorted(m.model_dump_json() for m in thread.messages.values()))))
        assert len(results) == 1
        conversation = Conversation.model_validate_json(next(iter(results))[0])
        assert conversation.unread_count == 4

    @pytest.mark.parametrize(("mine", "theirs", "expected"), [
        (None, "agent-2", "agent-2"),  # the survivor had none
        ("agent-1", None, "agent-1"),
        ("agent-1", "agent-2", "agent-2"),  # the later assignment wins (it was at 20)
    ])
    def test_the_later_assignment_wins(self, mine, theirs, expected):
        survivor = _conversation(CID, **({"assignee_id": mine, "assigned_at": at(10)}
                                         if mine else {}))
        source = _conversation(UCID, **({"assignee_id": theirs, "assigned_at": at(20)}
                                        if theirs else {}))
        out = merge.take_conversation(survivor, source)
        assert out.assignee_id == expected
        assert merge.take_conversation(out, source) == out

    def test_window_name_read_marker_and_status_are_maxima(self):
        survivor = _conversation(CID, last_inbound_at=at(10), contact_name="Ana",
                                 contact_name_at=at(10), last_read_at=at(30),
                                 last_read_by="a1", status="resolved", status_changed_at=at(5))
        source = _conversation(UCID, last_inbound_at=at(20), contact_name="Ana G",
                               contact_name_at=at(20), last_read_at=at(15), last_read_by="a2",
                               status="open", status_changed_at=at(25), window_closed_at=at(3),
                               business_display_number="+1 555")
        out = merge.take_conversation(survivor, source)
        assert (out.last_inbound_at, out.contact_name, out.last_read_by) == (at(20), "Ana G", "a1")
        assert out.window_expires_at == at(20 + 24 * 3600)
        assert (out.status, out.window_closed_at) == ("open", at(3))
        assert out.business_display_number == "+1 555"
        assert "ana g" in out.search_keys
        back = merge.take_conversation(survivor, source)
        assert merge.take_conversation(back, source) == back
        assert merge.take_conversation(back, survivor) == back  # its own values: no change

    def test_an_older_resolve_is_reopened_by_an_absorbed_message_after_it(self):
        survivor = Thread(id=CID, conversation=_conversation(
            CID, status="resolved", status_changed_at=at(5)))
        part = _part(UCID, [_message(UCID, "u1", at_s=10)], unread={"u1": at(11)})
        out = merge.absorbed(part, survivor, _step(part))
        assert out.conversation is not None
        assert out.conversation.status == "open"

    def test_an_identity_line_and_a_refused_send_are_not_the_last_message(self):
        line = _message(UCID, "s1", at_s=30, direction="system", message_type="system")
        refused = _message(UCID, "x", at_s=40, direction="outbound", command_id="c9",
                           outcome="refused").model_copy(
            update={"id": command_message_id(UCID, "c9"), "wamid": None})
        part = _part(UCID, [_message(UCID, "u1", at_s=10), line, refused])
        out = merge.absorbed(part, Thread(id=CID, conversation=_conversation(CID)), _step(part))
        assert out.conversation is not None
        assert out.conversation.last_message_id == message_id(CID, "u1")
        assert command_message_id(CID, "c9") in out.messages


# -- through the store: the survivor ends as if the events had been folded into it directly ------

def story() -> list[Any]:
    """A customer reached by number (an agent's message and its statuses), who also wrote by
    BSUID only, then with both (the merge), then more by each."""
    return [
        accepted("c1", "o1", 0),
        status("o1", "delivered", 2),
        user_received("u1", 5, name="Ana"),
        user_received("u2", 10, wa_id=CUSTOMER, name="Ana G"),
        user_status("o1", "read", 12),
        received("w3", 20),
        mark_read("r1", 25),
        set_status("s1", 26, "resolved"),
        user_received("u4", 30, username="ana.g"),
    ]


def names_only_the_bsuid(event: Any) -> bool:
    """Routed to the BSUID's conversation before the merge (and by a stale cache after it)."""
    payload: Any = getattr(event, "payload", None)
    if isinstance(getattr(payload, "from_user_id", None), str):
        return not payload.from_wa_id
    if isinstance(getattr(payload, "recipient_user_id", None), str):
        return not payload.recipient_wa_id
    return False


@pytest.mark.parametrize("cached", [True, False])
async def test_the_survivor_equals_the_direct_fold_wherever_the_merge_comes(cached: bool):
    events = story()
    direct = Feeder()
    await direct.feed(*[for_survivor(e) for e in events])
    expected = thread_state(direct, CID)
    conv = direct.repository.conversation(CID)
    assert (conv.unread_count, conv.status) == (1, "open")  # u4 came after the read at 25
    for cut in range(len(events) + 1):
        store = Feeder(cached=cached)
        # Events naming only the BSUID reach its conversation, before the merge and after it
        # (a stale alias cache); the store forwards those that come after.
        sequence = [*events[:cut], merged(10), *events[cut:]]
        for event in sequence:
            if not isinstance(event, ConversationMerged):
                event = event.model_copy(update={
                    "conversation_id": UCID if names_only_the_bsuid(event) else CID})
            await store.feed(event)
            await store.deliver()
        assert thread_state(store, CID) == expected, cut
        assert store.repository.conversation(UCID).merged_into == CID


def test_mark_read_is_a_command_the_survivor_takes_as_forwarded():
    event = mark_read("r1", 0)
    assert isinstance(event, MarkRead)
    thread = Thread(id=UCID, conversation=_conversation(UCID, merged_into=CID))
    (out,) = merge.forward(event, thread, "cmd").outbox
    assert (out.event.conversation_id, out.source) == (CID, "cmd")
    assert out.event.model_copy(update={"conversation_id": event.conversation_id}) == event
