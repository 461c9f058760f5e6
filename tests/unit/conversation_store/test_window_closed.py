"""Meta closes the window (131047, issue 13): the conversation records it, in any order.

Meta answers a free-form send outside the customer-service window either at once (HTTP 400: the
sender's ``outbound.failed``) or after accepting it (200 and a wamid, then a ``failed`` status
webhook). Either way the conversation keeps Meta's latest report as ``window_closed_at``, and the
window policy (shared/window.py) treats the window as closed while that report is at or after the
customer's last message. A later customer message reopens it.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from services.conversation_store.documents import Conversation, command_message_id
from shared.events import MessageFailed, MessageStatusChanged, MetaError
from shared.events.base import Event
from shared.window import is_window_open
from tests.unit.conversation_store.builders import (
    CID,
    accepted,
    at,
    failed,
    reaction,
    received,
    refused,
    status,
)
from tests.unit.conversation_store.fakes import Feeder

RE_ENGAGEMENT = 131047
NOW = at(300)  # when the tests ask whether the window is open: well inside 24 h of every time


def meta_failed(t: float, *, command_id: str = "c1", wamid: str = "out1",
                code: int = RE_ENGAGEMENT) -> MessageStatusChanged:
    """Meta's ``failed`` status webhook for the message our sender sent for ``command_id``."""
    event = status(wamid, "failed", t, error_code=code)
    return event.model_copy(update={"payload": event.payload.model_copy(
        update={"command_id": command_id, "reference": command_id})})


def sync_failed(command_id: str, t: float, code: int = RE_ENGAGEMENT) -> MessageFailed:
    """The sender's ``outbound.failed``: Meta answered the call itself with an error."""
    return failed(command_id, t).model_copy(update={"error": MetaError(
        code=code, title="Re-engagement message")})


def is_open(conversation: Conversation) -> bool:
    return is_window_open(conversation.last_inbound_at, NOW, conversation.window_closed_at)


def comparable(feeder: Feeder) -> dict[str, Any]:
    """The conversation, without what depends on how the events were batched and ordered by
    design: the write count, the fold's bookkeeping and the first event's time."""
    doc = dict(feeder.repository.conversations[CID])
    for key in ("version", "fold", "created_at"):
        del doc[key]
    return doc


@pytest.fixture(params=["cached", "uncached"])
def store(request: pytest.FixtureRequest) -> Feeder:
    return Feeder(cached=request.param == "cached")


class TestRecorded:
    async def test_failed_status_with_131047_closes_the_window_at_metas_time(self,
                                                                            store: Feeder):
        await store.feed(received("w1", 0), accepted("c1", "out1", 100), meta_failed(101))
        conversation = store.repository.conversation(CID)
        assert conversation.window_closed_at == at(101)
        assert conversation.window_expires_at is not None
        assert conversation.window_expires_at > NOW  # our clock alone would say open
        assert not is_open(conversation)
        message = store.repository.message(command_message_id(CID, "c1"))
        assert message.status == "failed"
        assert message.error is not None
        assert message.error.code == RE_ENGAGEMENT

    async def test_sync_outbound_failed_with_131047_closes_it_at_the_senders_time(
        self, store: Feeder
    ):
        await store.feed(received("w1", 0), sync_failed("c1", 100))
        conversation = store.repository.conversation(CID)
        assert conversation.window_closed_at == at(100)
        assert not is_open(conversation)

    async def test_status_before_the_senders_result_closes_it_too(self, store: Feeder):
        await store.feed(received("w1", 0), meta_failed(101))  # held in a stub for now
        assert store.repository.conversation(CID).window_closed_at == at(101)
        await store.feed(accepted("c1", "out1", 100))
        assert store.repository.conversation(CID).window_closed_at == at(101)

    async def test_a_status_without_its_command_closes_it_too(self, store: Feeder):
        # A message another tool sent: the window is the customer's, whoever sent.
        await store.feed(received("w1", 0), status("other", "failed", 50,
                                                   error_code=RE_ENGAGEMENT))
        assert store.repository.conversation(CID).window_closed_at == at(50)

    @pytest.mark.parametrize("result", ["status", "sync", "refused"])
    async def test_other_failures_and_our_own_refusal_do_not_close_it(self, store: Feeder,
                                                                     result):
        events: dict[str, Event] = {
            "status": meta_failed(101, code=131026),
            "sync": sync_failed("c1", 101, code=131026),
            "refused": refused("c1", 101),  # our policy's, not Meta's word
        }
        await store.feed(received("w1", 0), accepted("c1", "out1", 100), events[result])
        conversation = store.repository.conversation(CID)
        assert conversation.window_closed_at is None
        assert is_open(conversation)

    async def test_the_latest_report_is_kept(self, store: Feeder):
        await store.feed(received("w1", 0), sync_failed("c2", 150), sync_failed("c1", 100))
        assert store.repository.conversation(CID).window_closed_at == at(150)


class TestReopened:
    async def test_a_later_customer_message_reopens(self, store: Feeder):
        await store.feed(received("w1", 0), accepted("c1", "out1", 100), meta_failed(101))
        await store.feed(received("w2", 200))
        conversation = store.repository.conversation(CID)
        assert conversation.last_inbound_at == at(200)
        assert conversation.window_closed_at == at(101)  # kept: older than the customer's
        assert is_open(conversation)

    async def test_a_later_customer_reaction_reopens_as_any_customer_activity(self,
                                                                             store: Feeder):
        await store.feed(received("w1", 0), sync_failed("c1", 100),
                         reaction("r1", "w1", "👍", 200))
        assert is_open(store.repository.conversation(CID))

    async def test_a_report_after_the_new_message_closes_it_again(self, store: Feeder):
        await store.feed(received("w1", 0), sync_failed("c1", 100), received("w2", 200),
                         sync_failed("c2", 250))
        conversation = store.repository.conversation(CID)
        assert conversation.window_closed_at == at(250)
        assert not is_open(conversation)

    async def test_a_report_at_the_same_time_as_the_customer_message_closes(self,
                                                                           store: Feeder):
        # At or after the customer's last message: Meta's seconds cannot tell them apart.
        await store.feed(received("w1", 0), received("w2", 200), meta_failed(200))
        assert not is_open(store.repository.conversation(CID))


class TestEveryOrder:
    """The same events in every order, batched two ways, each then repeated (a duplicate with a
    new position), end in the same conversation."""

    CLOSING: tuple[Event, ...] = (received("w1", 0), accepted("c1", "out1", 100),
                                  meta_failed(101), sync_failed("c2", 150))
    REOPENING: tuple[Event, ...] = (*CLOSING, received("w2", 200))

    @staticmethod
    async def fold(events: tuple[Event, ...], order: tuple[int, ...], batch: int) -> Feeder:
        feeder = Feeder()
        ordered = [events[i] for i in order]
        await feeder.feed(*ordered, batch=batch)
        await feeder.feed(*reversed(ordered), batch=batch)  # every event again
        return feeder

    @pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
    @pytest.mark.parametrize("batch", [1, 4])
    async def test_closed_at_metas_latest_report(self, order, batch):
        reference = await self.fold(self.CLOSING, tuple(range(4)), 1)
        feeder = await self.fold(self.CLOSING, order, batch)
        conversation = feeder.repository.conversation(CID)
        assert conversation.window_closed_at == at(150)
        assert conversation.last_inbound_at == at(0)
        assert not is_open(conversation)
        assert comparable(feeder) == comparable(reference)

    @pytest.mark.parametrize("order", list(itertools.permutations(range(5))))
    @pytest.mark.parametrize("batch", [1, 5])
    async def test_reopened_by_the_later_customer_message(self, order, batch):
        reference = await self.fold(self.REOPENING, tuple(range(5)), 1)
        feeder = await self.fold(self.REOPENING, order, batch)
        conversation = feeder.repository.conversation(CID)
        assert (conversation.last_inbound_at, conversation.window_closed_at) == (at(200),
                                                                                  at(150))
        assert is_open(conversation)
        assert comparable(feeder) == comparable(reference)


class TestIdempotence:
    @pytest.mark.parametrize("batch", [1, 2, 4])
    async def test_a_redelivered_log_changes_nothing(self, store: Feeder, batch):
        await store.feed(received("w1", 0), accepted("c1", "out1", 100), meta_failed(101),
                         sync_failed("c2", 150), batch=batch)
        before = (dict(store.repository.conversations), dict(store.repository.messages))
        await store.replay(store.log)
        assert (store.repository.conversations, store.repository.messages) == before

    async def test_lost_message_write_is_redone_and_the_window_stays_closed(self,
                                                                           store: Feeder):
        await store.feed(received("w1", 0), accepted("c1", "out1", 100))
        store.repository.fail_messages_once = True  # the conversation is written, not the message
        records = [store.record(meta_failed(101))]
        with pytest.raises(ConnectionError):
            await store.replay(records)
        assert store.repository.conversation(CID).window_closed_at == at(101)
        await store.replay(records)  # redelivered: the position is already applied
        assert store.repository.conversation(CID).window_closed_at == at(101)
        assert store.repository.message(command_message_id(CID, "c1")).status == "failed"
