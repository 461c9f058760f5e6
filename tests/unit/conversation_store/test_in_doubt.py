"""Sends in doubt resolve themselves: Meta's statuses name their command (issue 11).

The sender reports ``outbound.unknown`` when it cannot tell whether Meta got a send; Meta's status
webhooks echo the command id (``biz_opaque_callback_data``, decoded by webhook_ingest into
``command_id``), which ties the wamid to the command's message, in whatever order they come.
"""

from __future__ import annotations

import itertools

import pytest

from services.conversation_store.documents import (
    Conversation,
    Message,
    command_message_id,
    message_id,
)
from shared.events import MessageStatusChanged, OutboundContent
from shared.events.base import Event
from tests.unit.conversation_store.builders import (
    CID,
    accepted,
    at,
    received,
    status,
    unknown,
)
from tests.unit.conversation_store.fakes import Feeder

MID = command_message_id(CID, "c1")
WAMID = "out1"


def meta(value: str, t: float, *, command_id: str = "c1", wamid: str = WAMID,
         error_code: int | None = None, arrived: float | None = None) -> MessageStatusChanged:
    """A status webhook for a message our sender sent for ``command_id``."""
    event = status(wamid, value, t, error_code=error_code, arrived=arrived)
    return event.model_copy(update={"payload": event.payload.model_copy(
        update={"command_id": command_id, "reference": command_id})})


@pytest.fixture(params=["cached", "uncached"])
def store(request: pytest.FixtureRequest) -> Feeder:
    """Every scenario runs through the thread cache and reading the database each time (the
    uncached fake loads only what ``wanted()`` names, so it checks that too)."""
    return Feeder(cached=request.param == "cached")


def messages_of(feeder: Feeder, command_id: str = "c1") -> list[Message]:
    """Every document about the command: its message and any stub (there must be one)."""
    return [Message.model_validate(d) for d in feeder.repository.messages.values()
            if d["command_id"] == command_id or d["wamid"] == WAMID]


def only_message(feeder: Feeder) -> Message:
    [message] = messages_of(feeder)
    assert message.id == MID
    return message


def list_fields(conversation: Conversation) -> tuple[object, ...]:
    """What the conversation list shows and sorts by."""
    return (conversation.last_message_id, conversation.last_message_preview,
            conversation.last_message_at, conversation.last_message_direction,
            conversation.last_activity_at, conversation.last_agent_reply_at,
            conversation.last_agent_id, conversation.unread_count)


class TestStatusAfterUnknown:
    @pytest.mark.parametrize(("value", "outcome"), [
        ("sent", "accepted"), ("delivered", "accepted"), ("read", "accepted"),
        ("played", "accepted"), ("failed", "failed")])
    async def test_first_status_turns_unknown_into_metas_state(self, store: Feeder, value,
                                                               outcome):
        await store.feed(unknown("c1", 30))
        assert only_message(store).status == "unknown"
        await store.feed(meta(value, 10, error_code=131026 if value == "failed" else None))
        message = only_message(store)
        assert (message.status, message.outcome, message.wamid) == (value, outcome, WAMID)
        assert message.visible
        assert not message.stub
        assert [s.status for s in message.statuses] == [value, "unknown"]  # by time
        if value == "failed":
            assert message.error is not None
            assert message.error.code == 131026
        else:
            assert message.error is None  # the sender's "cannot tell" is no longer shown

    async def test_accepted_takes_its_place_in_the_list_as_if_acknowledged(self, store: Feeder):
        await store.feed(received("w1", 0), unknown("c1", 30), meta("sent", 10))
        message = only_message(store)
        assert message.sent_at == at(10)  # Meta's time, not the sender's late report
        conversation = store.repository.conversation(CID)
        assert conversation.last_message_id == MID
        assert conversation.last_message_direction == "outbound"
        assert conversation.last_activity_at == at(10)
        assert (conversation.last_agent_reply_at, conversation.last_agent_id) == (at(10),
                                                                                   "agent-1")
        assert [m.id for m in store.repository.visible(CID)] == [message_id(CID, "w1"), MID]

    async def test_a_reply_after_the_send_stays_the_last_message(self, store: Feeder):
        # The customer answered (t=20) before the restarted sender reported (t=30).
        await store.feed(unknown("c1", 30), received("w2", 20), meta("sent", 10))
        conversation = store.repository.conversation(CID)
        assert conversation.last_message_id == message_id(CID, "w2")
        assert conversation.last_activity_at == at(20)
        assert [m.id for m in store.repository.visible(CID)] == [MID, message_id(CID, "w2")]

    async def test_list_is_the_same_as_for_an_acknowledged_send(self):
        normal, doubt = Feeder(), Feeder()
        await normal.feed(received("w1", 0), accepted("c1", WAMID, 10), meta("sent", 10),
                          meta("delivered", 12))
        await doubt.feed(received("w1", 0), unknown("c1", 30), meta("sent", 10),
                         meta("delivered", 12))
        assert list_fields(doubt.repository.conversation(CID)) == list_fields(
            normal.repository.conversation(CID))
        shown, expected = only_message(doubt), only_message(normal)
        assert (shown.status, shown.outcome, shown.wamid, shown.sent_at) == (
            expected.status, expected.outcome, expected.wamid, expected.sent_at)

    async def test_later_statuses_follow_precedence(self, store: Feeder):
        await store.feed(unknown("c1", 30), meta("sent", 10))
        await store.feed(meta("read", 12), meta("delivered", 11))
        message = only_message(store)
        assert (message.status, message.outcome) == ("read", "accepted")
        assert [s.status for s in message.statuses] == ["sent", "delivered", "read", "unknown"]
        assert message.sent_at == at(10)  # placed once, when it resolved

    async def test_failed_then_sent_ends_accepted_and_shown_failed(self, store: Feeder):
        await store.feed(unknown("c1", 30), meta("failed", 11, error_code=131026))
        assert only_message(store).outcome == "failed"
        assert store.repository.conversation(CID).last_message_id is None  # not delivered
        await store.feed(meta("sent", 10))
        message = only_message(store)
        assert (message.status, message.outcome) == ("failed", "accepted")
        assert store.repository.conversation(CID).last_message_id == MID  # Meta had it

    async def test_a_status_of_another_wamid_never_joins_the_message(self, store: Feeder):
        await store.feed(accepted("c1", WAMID, 5), meta("sent", 6, wamid="other"))
        message = store.repository.message(MID)
        assert (message.wamid, message.status) == (WAMID, "accepted")
        stub = store.repository.message(message_id(CID, "other"))
        assert stub.stub
        assert not stub.visible


class TestStatusBeforeResult:
    """The status webhook can beat the sender's result: it travels on another topic."""

    @pytest.mark.parametrize("result", ["unknown", "accepted"])
    async def test_held_under_the_command_and_taken_in_by_its_result(self, store: Feeder,
                                                                     result):
        await store.feed(meta("sent", 10), meta("delivered", 11))
        stub = only_message(store)  # keyed by the command: its result, whichever, finds it
        assert stub.stub
        assert not stub.visible
        assert store.repository.conversation(CID).last_message_id is None
        await store.feed(unknown("c1", 30) if result == "unknown"
                         else accepted("c1", WAMID, 9))
        message = only_message(store)
        assert not message.stub
        assert message.visible
        assert (message.status, message.outcome, message.wamid) == ("delivered", "accepted",
                                                                    WAMID)
        assert message.preview == "hello"
        assert message.sent_at == (at(10) if result == "unknown" else at(9))
        assert store.repository.conversation(CID).last_message_id == MID
        assert store.repository.conversation(CID).last_activity_at == message.sent_at

    async def test_failed_before_unknown_is_failed(self, store: Feeder):
        await store.feed(meta("failed", 10, error_code=131026), unknown("c1", 30))
        message = only_message(store)
        assert (message.status, message.outcome, message.visible) == ("failed", "failed", True)
        assert store.repository.conversation(CID).last_message_id is None

    async def test_a_status_with_no_result_ever_stays_invisible(self, store: Feeder):
        await store.feed(received("w1", 0), meta("read", 10, command_id="not-ours"))
        assert [m.id for m in store.repository.visible(CID)] == [message_id(CID, "w1")]
        assert store.repository.conversation(CID).last_message_id == message_id(CID, "w1")


class TestEveryOrder:
    EVENTS: tuple[Event, ...] = (unknown("c1", 30), meta("sent", 10), meta("delivered", 11),
                                 meta("read", 12))

    @pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
    @pytest.mark.parametrize("batch", [1, 4])
    async def test_ends_in_one_message_with_metas_highest_status(self, order, batch):
        store = Feeder()
        await store.feed(received("w1", 0), *(self.EVENTS[i] for i in order), batch=batch)
        message = only_message(store)
        assert (message.status, message.outcome, message.wamid, message.visible) == (
            "read", "accepted", WAMID, True)
        assert [s.status for s in message.statuses] == ["sent", "delivered", "read", "unknown"]
        # Placed at the first of Meta's times it knew when it resolved (seconds apart at most).
        assert message.sent_at in {at(10), at(11), at(12)}
        conversation = store.repository.conversation(CID)
        assert conversation.last_message_id == MID
        assert conversation.last_activity_at == message.sent_at
        assert conversation.last_agent_reply_at == message.sent_at


class TestIdempotence:
    async def test_a_duplicate_status_changes_nothing(self, store: Feeder):
        await store.feed(unknown("c1", 30), meta("sent", 10))
        before = (dict(store.repository.conversations), dict(store.repository.messages))
        await store.feed(meta("sent", 10, arrived=60))  # Meta retried the webhook
        assert (store.repository.conversations, store.repository.messages) == before

    async def test_a_duplicate_unknown_changes_nothing(self, store: Feeder):
        await store.feed(meta("sent", 10), unknown("c1", 30))
        before = (dict(store.repository.conversations), dict(store.repository.messages))
        await store.feed(unknown("c1", 30))
        assert (store.repository.conversations, store.repository.messages) == before

    @pytest.mark.parametrize("batch", [1, 2, 3])
    async def test_a_redelivered_log_changes_nothing(self, store: Feeder, batch):
        await store.feed(received("w1", 0), meta("sent", 10), unknown("c1", 30),
                         meta("read", 12), batch=batch)
        before = (dict(store.repository.conversations), dict(store.repository.messages))
        await store.replay(store.log)
        assert (store.repository.conversations, store.repository.messages) == before

    async def test_accepted_after_resolution_keeps_one_message_in_its_place(self,
                                                                            store: Feeder):
        await store.feed(unknown("c1", 30), meta("delivered", 11))
        settled = only_message(store)
        await store.feed(accepted("c1", WAMID, 10))  # the sender learnt it after all
        message = only_message(store)
        assert (message.status, message.outcome, message.sort_key) == ("delivered", "accepted",
                                                                       settled.sort_key)
        conversation = store.repository.conversation(CID)
        assert conversation.last_message_id == MID
        assert conversation.last_activity_at == at(11)

    async def test_lost_message_write_is_redone_and_list_effects_kept(self, store: Feeder):
        await store.feed(received("w1", 0), unknown("c1", 30))
        store.repository.fail_messages_once = True  # the conversation is written, not the message
        records = [store.record(meta("sent", 10))]
        with pytest.raises(ConnectionError):
            await store.replay(records)
        assert store.repository.message(MID).outcome == "unknown"
        await store.replay(records)  # redelivered: the position is already applied
        message = only_message(store)
        assert (message.outcome, message.wamid, message.sent_at) == ("accepted", WAMID, at(10))
        conversation = store.repository.conversation(CID)
        assert (conversation.last_message_id, conversation.last_activity_at) == (MID, at(10))


class TestOtherSends:
    async def test_a_reaction_in_doubt_resolves_without_becoming_the_last_message(
        self, store: Feeder
    ):
        content = OutboundContent(kind="reaction", reaction_to_wamid="w1", emoji="👍")
        result = unknown("c1", 30).model_copy(update={"content": content})
        await store.feed(received("w1", 0), result, meta("sent", 10))
        message = only_message(store)
        assert (message.outcome, message.status) == ("accepted", "sent")
        assert store.repository.conversation(CID).last_message_id == message_id(CID, "w1")

    async def test_a_template_in_doubt_is_the_last_message_with_its_preview(self,
                                                                           store: Feeder):
        content = OutboundContent(kind="template", template_name="welcome",
                                  template_language="en_US", text="Welcome, Ana!")
        result = unknown("c1", 30).model_copy(update={"content": content, "actor_id": None})
        await store.feed(result, meta("delivered", 10))
        conversation = store.repository.conversation(CID)
        assert conversation.last_message_preview == "Welcome, Ana!"
        assert conversation.last_agent_id is None  # a service's send is not an agent's reply
