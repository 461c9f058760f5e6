"""The fold, through the handler with fakes: every event type, duplicates, orders, replays."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from services.conversation_store.documents import command_message_id, message_id
from shared.events import OutboundContent, ReplyContext
from tests.unit.conversation_store.builders import (
    CID,
    accepted,
    assign,
    at,
    failed,
    mark_read,
    reaction,
    received,
    refused,
    set_status,
    status,
    unknown,
)
from tests.unit.conversation_store.fakes import Feeder


@pytest.fixture(params=["cached", "uncached"])
def store(request: pytest.FixtureRequest) -> Feeder:
    """Every scenario runs twice: through the thread cache, and reading the database each time."""
    return Feeder(cached=request.param == "cached")


class TestInboundMessage:
    async def test_creates_conversation_and_message(self, store: Feeder):
        await store.feed(received("w1", 0, text="Hello there", name="Ana Maria"))
        conv = store.repository.conversation(CID)
        assert conv.tenant_id == "acme"
        assert conv.customer_wa_id == "5511987654321"
        assert conv.contact_name == "Ana Maria"
        assert conv.last_message_preview == "Hello there"
        assert conv.last_message_at == at(0)
        assert conv.last_inbound_at == at(0)
        assert conv.window_expires_at == at(0) + timedelta(hours=24)
        assert conv.unread_count == 1
        assert conv.status == "open"
        assert conv.version == 1
        assert "maria" in conv.search_keys
        assert "ana maria" in conv.search_keys
        message = store.repository.message(message_id(CID, "w1"))
        assert (message.direction, message.preview, message.sent_at) == ("inbound",
                                                                        "Hello there", at(0))

    async def test_duplicate_with_a_new_position_changes_nothing(self, store: Feeder):
        await store.feed(received("w1", 0))
        before = dict(store.repository.conversations)
        await store.feed(received("w1", 0, arrived=50))
        assert store.repository.conversations == before
        assert len(store.publisher.published) == 1

    async def test_redelivered_batch_changes_nothing_but_announces_again(self, store: Feeder):
        await store.feed(received("w1", 0), received("w2", 5), batch=2)
        before = (dict(store.repository.conversations), dict(store.repository.messages))
        await store.replay(store.log)
        assert (store.repository.conversations, store.repository.messages) == before
        assert store.publisher.published[-1].summary.version == 1  # same notice, same id
        assert store.publisher.published[-1].event_id == store.publisher.published[0].event_id

    async def test_every_event_bumps_the_version_once_per_batch(self, store: Feeder):
        await store.feed(received("w1", 0), received("w2", 1), batch=2)
        await store.feed(received("w3", 2))
        assert store.repository.conversation(CID).version == 2

    async def test_latest_profile_name_wins_by_whatsapp_time(self, store: Feeder):
        await store.feed(received("w2", 10, name="Ana B"), received("w1", 0, name="Ana A"))
        assert store.repository.conversation(CID).contact_name == "Ana B"

    async def test_phone_spellings_join_one_conversation(self, store: Feeder):
        old_brazil = "551187654321"  # without the 9th digit
        event = received("w1", 0, from_wa_id=old_brazil).model_copy(
            update={"conversation_id": None})
        await store.feed(event)
        conv = store.repository.conversation(CID)
        assert set(conv.customer_wa_ids) == {"5511987654321", old_brazil}


class TestWindowAndOrder:
    async def test_window_follows_the_latest_inbound_message_even_if_it_arrives_first(
        self, store: Feeder
    ):
        await store.feed(received("w2", 3600), received("w1", 0))
        conv = store.repository.conversation(CID)
        assert conv.last_inbound_at == at(3600)
        assert conv.window_expires_at == at(3600) + timedelta(hours=24)
        assert conv.last_message_preview == "hi"
        assert (conv.last_message_id or "").endswith("w2")

    async def test_thread_is_ordered_by_whatsapp_time_then_arrival(self, store: Feeder):
        await store.feed(
            received("late", 10, arrived=100),
            received("b", 5, arrived=7),
            received("a", 5, arrived=6),
            accepted("c1", "out1", 8),
        )
        order = [m.wamid for m in store.repository.visible(CID)]
        assert order == ["a", "b", "out1", "late"]


class TestStatuses:
    @pytest.mark.parametrize("order", list(itertools.permutations(
        ["sent", "delivered", "read"])))
    async def test_status_never_regresses_in_any_order(self, store: Feeder, order):
        times = {"sent": 1, "delivered": 2, "read": 3}
        await store.feed(accepted("c1", "out1", 0))
        await store.feed(*[status("out1", s, times[s]) for s in order])
        message = store.repository.message(command_message_id(CID, "c1"))
        assert message.status == "read"
        assert [s.status for s in message.statuses] == ["accepted", "sent", "delivered", "read"]

    @pytest.mark.parametrize("order", list(itertools.permutations(
        ["sent", "delivered", "read", "failed"])))
    async def test_failed_stays_visible_with_metas_error(self, store: Feeder, order):
        await store.feed(accepted("c1", "out1", 0))
        await store.feed(*[status("out1", s, i + 1, error_code=131026 if s == "failed" else None)
                           for i, s in enumerate(order)])
        message = store.repository.message(command_message_id(CID, "c1"))
        assert message.status == "failed"
        assert message.error is not None
        assert message.error.code == 131026
        assert len(message.statuses) == 5

    async def test_read_without_delivered(self, store: Feeder):
        await store.feed(accepted("c1", "out1", 0), status("out1", "sent", 1),
                         status("out1", "read", 2))
        assert store.repository.message(command_message_id(CID, "c1")).status == "read"

    async def test_late_sent_is_recorded_but_does_not_regress(self, store: Feeder):
        await store.feed(accepted("c1", "out1", 0), status("out1", "read", 5),
                         status("out1", "sent", 1))
        message = store.repository.message(command_message_id(CID, "c1"))
        assert message.status == "read"
        assert message.status_at == at(5)
        assert [s.status for s in message.statuses] == ["accepted", "sent", "read"]

    async def test_duplicate_status_changes_nothing(self, store: Feeder):
        await store.feed(accepted("c1", "out1", 0), status("out1", "delivered", 2))
        before = dict(store.repository.messages)
        await store.feed(status("out1", "delivered", 2, arrived=60))
        assert store.repository.messages == before
        assert store.repository.conversation(CID).version == 2

    async def test_status_before_its_message_is_applied_when_it_appears(self, store: Feeder):
        await store.feed(status("out1", "sent", 1), status("out1", "delivered", 2))
        stub = store.repository.message(message_id(CID, "out1"))
        assert stub.stub
        assert not stub.visible
        await store.feed(accepted("c1", "out1", 0))
        message = store.repository.message(command_message_id(CID, "c1"))
        assert message.status == "delivered"
        assert [s.status for s in message.statuses] == ["accepted", "sent", "delivered"]
        assert message_id(CID, "out1") not in store.repository.messages
        await store.feed(status("out1", "read", 3))
        assert store.repository.message(command_message_id(CID, "c1")).status == "read"

    async def test_played_comes_after_read(self, store: Feeder):
        await store.feed(accepted("c1", "out1", 0), status("out1", "played", 4),
                         status("out1", "read", 3))
        assert store.repository.message(command_message_id(CID, "c1")).status == "played"

    async def test_unknown_new_status_is_kept_but_not_shown(self, store: Feeder):
        await store.feed(accepted("c1", "out1", 0), status("out1", "delivered", 2),
                         status("out1", "warning", 3))
        message = store.repository.message(command_message_id(CID, "c1"))
        assert message.status == "delivered"
        assert message.statuses[-1].status == "warning"


class TestOutboundResults:
    async def test_accepted_updates_list_fields_and_last_agent(self, store: Feeder):
        await store.feed(received("w1", 0), accepted("c1", "out1", 30, text="On it"))
        conv = store.repository.conversation(CID)
        assert conv.last_message_preview == "On it"
        assert conv.last_message_direction == "outbound"
        assert (conv.last_agent_reply_at, conv.last_agent_id) == (at(30), "agent-1")
        assert conv.last_inbound_at == at(0)

    @pytest.mark.parametrize(("result", "state", "code"), [
        (refused, "refused", None), (failed, "failed", 131026), (unknown, "unknown", None)])
    async def test_not_accepted_sends_are_visible_with_why(self, store: Feeder, result, state,
                                                            code):
        await store.feed(result("c1", 5))
        message = store.repository.message(command_message_id(CID, "c1"))
        assert message.visible
        assert message.status == state
        assert message.outcome == state
        assert message.error is not None
        assert message.error.code == code
        assert store.repository.conversation(CID).last_message_id is None

    async def test_refusal_carries_the_reason_and_hint(self, store: Feeder):
        await store.feed(refused("c1", 5))
        error = store.repository.message(command_message_id(CID, "c1")).error
        assert error is not None
        assert (error.source, error.reason) == ("policy", "window_expired")
        assert error.hint == "Send an approved template instead."

    async def test_accepted_after_unknown_does_not_duplicate(self, store: Feeder):
        await store.feed(unknown("c1", 5), accepted("c1", "out1", 6))
        mine = [m for m in store.repository.messages.values() if m["command_id"] == "c1"]
        assert len(mine) == 1
        message = store.repository.message(command_message_id(CID, "c1"))
        assert (message.outcome, message.status, message.wamid) == ("accepted", "accepted",
                                                                    "out1")
        assert message.error is None

    async def test_duplicate_accepted_changes_nothing(self, store: Feeder):
        await store.feed(accepted("c1", "out1", 5))
        before = dict(store.repository.messages)
        await store.feed(accepted("c1", "out1", 5))
        assert store.repository.messages == before


class TestReactions:
    async def test_customer_reaction_attaches_and_removal_clears(self, store: Feeder):
        await store.feed(accepted("c1", "out1", 0), reaction("r1", "out1", "👍", 5))
        message = store.repository.message(command_message_id(CID, "c1"))
        assert [(r.by, r.emoji) for r in message.reactions] == [("customer", "👍")]
        await store.feed(reaction("r2", "out1", None, 6))
        assert store.repository.message(command_message_id(CID, "c1")).reactions == []

    async def test_an_older_reaction_arriving_late_does_not_win(self, store: Feeder):
        await store.feed(received("w1", 0), reaction("r2", "w1", "", 9),
                         reaction("r1", "w1", "❤️", 8))
        assert store.repository.message(message_id(CID, "w1")).reactions == []

    async def test_reaction_before_its_message_is_kept(self, store: Feeder):
        await store.feed(reaction("r1", "w1", "😂", 5))
        await store.feed(received("w1", 0))
        message = store.repository.message(message_id(CID, "w1"))
        assert not message.stub
        assert message.visible
        assert [r.emoji for r in message.reactions] == ["😂"]

    async def test_reaction_is_not_a_thread_message_nor_unread(self, store: Feeder):
        await store.feed(received("w1", 0), reaction("r1", "w1", "👍", 5))
        conv = store.repository.conversation(CID)
        assert conv.unread_count == 1
        assert conv.last_message_id == message_id(CID, "w1")
        assert conv.last_inbound_at == at(5)

    async def test_business_reaction_from_an_accepted_send(self, store: Feeder):
        content = OutboundContent(kind="reaction", reaction_to_wamid="w1", emoji="🙏")
        await store.feed(received("w1", 0), accepted("c2", "out2", 3, content=content))
        message = store.repository.message(message_id(CID, "w1"))
        assert [(r.by, r.emoji) for r in message.reactions] == [("business", "🙏")]
        assert not store.repository.message(command_message_id(CID, "c2")).visible
        assert store.repository.conversation(CID).last_message_id == message_id(CID, "w1")


class TestEditsAndDeletes:
    """Meta's older shape: ``unsupported{type: edit|revoke}``, the target (if any) in the
    context and no new content. Never a message of its own (test_edits.py has the rest)."""

    async def test_an_edit_notice_marks_its_target_edited(self, store: Feeder):
        await store.feed(received("w1", 0))
        await store.feed(received("w2", 5, message_type="unsupported",
                                  content={"type": "edit"},
                                  context=ReplyContext(message_id="w1")))
        assert store.repository.message(message_id(CID, "w1")).edited
        assert message_id(CID, "w2") not in store.repository.messages
        assert store.repository.conversation(CID).unread_count == 1

    async def test_a_delete_notice_without_target_changes_no_thread(self, store: Feeder):
        await store.feed(received("w1", 0))
        await store.feed(received("w2", 5, message_type="unsupported",
                                  content={"type": "revoke"}))
        assert [m.id for m in store.repository.visible(CID)] == [message_id(CID, "w1")]
        assert store.repository.conversation(CID).unread_count == 1


class TestCommands:
    async def test_mark_read_clears_unread(self, store: Feeder):
        await store.feed(received("w1", 0), received("w2", 1))
        await store.feed(mark_read("m1", 10))
        conv = store.repository.conversation(CID)
        assert conv.unread_count == 0
        assert conv.last_read_by == "agent-1"

    async def test_mark_read_up_to_a_message_keeps_later_ones_unread(self, store: Feeder):
        await store.feed(received("w1", 0), received("w2", 1), received("w3", 2))
        await store.feed(mark_read("m1", 10, wamid="w2"))
        assert store.repository.conversation(CID).unread_count == 1

    async def test_mark_read_counts_only_what_arrived_before_it(self, store: Feeder):
        # The commands topic is read before the inbound one: times, not arrival, decide.
        await store.feed(mark_read("m1", 10), received("w1", 0, arrived=5),
                         received("w2", 20, arrived=21))
        assert store.repository.conversation(CID).unread_count == 2
        store2 = Feeder()
        await store2.feed(received("w1", 0, arrived=5), received("w2", 20, arrived=21),
                          mark_read("m1", 10))
        assert store2.repository.conversation(CID).unread_count == 1

    async def test_republished_mark_read_does_not_clear_newer_messages(self, store: Feeder):
        await store.feed(received("w1", 0), mark_read("m1", 2, wamid="w1"), received("w2", 3))
        await store.feed(mark_read("m1", 2, wamid="w1"))
        assert store.repository.conversation(CID).unread_count == 1

    async def test_new_inbound_reopens_a_resolved_conversation(self, store: Feeder):
        await store.feed(received("w1", 0), set_status("s1", 10, "resolved"))
        assert store.repository.conversation(CID).status == "resolved"
        await store.feed(received("w2", 20))
        assert store.repository.conversation(CID).status == "open"

    async def test_resolve_after_a_message_it_saw_stays_resolved(self, store: Feeder):
        # The message reached us (t=1) before the agent resolved (t=10), folded after it.
        await store.feed(set_status("s1", 10, "resolved"), received("w1", 0, arrived=1))
        assert store.repository.conversation(CID).status == "resolved"

    async def test_assignment_last_writer_wins_by_time(self, store: Feeder):
        await store.feed(received("w1", 0), assign("a2", 20, "bob"), assign("a1", 10, "ann"))
        conv = store.repository.conversation(CID)
        assert (conv.assignee_id, conv.assigned_by) == ("bob", "lead")
        await store.feed(assign("a3", 30, None))
        assert store.repository.conversation(CID).assignee_id is None


class TestFailures:
    async def test_lost_message_write_is_redone_without_counting_twice(self, store: Feeder):
        store.repository.fail_messages_once = True
        records = [store.record(received("w1", 0)), store.record(received("w2", 1))]
        with pytest.raises(ConnectionError):
            await store.replay(records)
        assert store.repository.messages == {}
        await store.replay(records)  # the batch is redelivered: offsets were not committed
        conv = store.repository.conversation(CID)
        assert conv.unread_count == 2
        assert len(store.repository.visible(CID)) == 2
        assert store.publisher.published[-1].summary.unread_count == 2

    async def test_write_conflict_reloads_and_refolds(self, store: Feeder):
        store.repository.conflict_once = True
        await store.feed(received("w1", 0))
        assert store.repository.conversation(CID).unread_count == 1
        assert store.repository.saves == 1

    async def test_shuffled_duplicated_stream_ends_in_the_same_documents(self):
        events = [received("w1", 0), accepted("c1", "o1", 5), status("o1", "sent", 6),
                  status("o1", "delivered", 7), status("o1", "read", 8),
                  reaction("r1", "o1", "👍", 9), received("w2", 10), mark_read("m1", 12, "w2")]
        reference = Feeder()
        await reference.feed(*events, batch=3)
        shuffled = Feeder()
        statuses = events[2:5]
        await shuffled.feed(events[0], statuses[2], statuses[0], events[1], statuses[1],
                            statuses[0], *events[5:], events[0], batch=2)

        def shown(feeder: Feeder):
            return [(m.id, m.status, m.reactions) for m in feeder.repository.visible(CID)]

        assert shown(shuffled) == shown(reference)
        conv, ref = shuffled.repository.conversation(CID), reference.repository.conversation(CID)
        assert (conv.unread_count, conv.last_message_id) == (ref.unread_count,
                                                             ref.last_message_id)
