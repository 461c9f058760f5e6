"""The consumer shell: lanes per conversation, commits, backpressure, rebalance, failures."""

import asyncio

from aiokafka import TopicPartition
from pymongo.errors import AutoReconnect

from services.outbound_sender.handlers import CommandPipeline
from shared.consumer import Received
from shared.events import AssignConversation
from tests.unit.outbound_sender.fakes import CID, T0, TENANT, text

TOPIC = "inbox.commands.v1"
P0, P1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)


class FakeConsumer:
    def __init__(self, *assigned: TopicPartition) -> None:
        self.assigned = set(assigned)
        self.paused: set[TopicPartition] = set()
        self.commits: list[dict[TopicPartition, int]] = []

    def assignment(self) -> set[TopicPartition]:
        return set(self.assigned)

    def pause(self, *tps: TopicPartition) -> None:
        self.paused |= set(tps)

    def resume(self, *tps: TopicPartition) -> None:
        self.paused -= set(tps)

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(dict(offsets))


class FakeService:
    """Handles commands as told: hold some, fail some."""

    def __init__(self) -> None:
        self.handled: list[str] = []
        self.hold: dict[str, asyncio.Event] = {}
        self.failures: dict[str, list[Exception]] = {}

    async def handle(self, command) -> None:
        if command.command_id in self.hold:
            await self.hold[command.command_id].wait()
        failures = self.failures.get(command.command_id)
        if failures:
            raise failures.pop(0)
        self.handled.append(command.command_id)


def received(command_id: str, offset: int, tp: TopicPartition = P0, cid: str = CID):
    return Received(text(command_id, cid=cid), tp.topic, tp.partition, offset, cid.encode(), b"")


def pipeline(consumer: FakeConsumer, service: FakeService, max_buffered: int = 100):
    return CommandPipeline(consumer, service, max_buffered=max_buffered,  # type: ignore[arg-type]
                           drain_seconds=5)


class TestCommits:
    async def test_commits_only_what_is_finished_in_order(self):
        consumer, service = FakeConsumer(P0), FakeService()
        service.hold["c0"] = asyncio.Event()
        pipe = pipeline(consumer, service)
        await pipe([received("c0", 0, cid="n:1"), received("c1", 1, cid="n:2")])
        await asyncio.sleep(0.01)
        assert service.handled == ["c1"]  # another conversation went ahead
        assert pipe.committable({P0: 2}) == {P0: 0}  # but c0 holds the commit
        service.hold["c0"].set()
        await asyncio.wait_for(pipe.lanes.wait_idle(), 5)
        assert pipe.committable({}) == {P0: 2}

    async def test_commands_the_sender_ignores_and_revoked_partitions_are_skipped(self):
        consumer, service = FakeConsumer(P0), FakeService()
        pipe = pipeline(consumer, service)
        assign = AssignConversation(occurred_at=T0, tenant_id=TENANT, conversation_id=CID,
                                    command_id="a1", assignee_id="agent-1")
        await pipe([Received(assign, TOPIC, 0, 0, None, b""), received("x", 0, tp=P1)])
        assert pipe.buffered == 0
        assert pipe.committable({P0: 1}) == {P0: 1}


class TestBackpressure:
    async def test_pauses_when_too_many_wait_and_resumes_when_drained(self):
        consumer, service = FakeConsumer(P0), FakeService()
        gate = asyncio.Event()
        pipe = pipeline(consumer, service, max_buffered=5)
        for i in range(5):
            service.hold[f"c{i}"] = gate
        await pipe([received(f"c{i}", i, cid=f"n:{i}") for i in range(5)])
        assert consumer.paused == {P0}
        gate.set()
        await asyncio.wait_for(pipe.lanes.wait_idle(), 5)
        pipe.committable({})
        assert consumer.paused == set()


class TestRebalance:
    async def test_revoke_lets_calls_finish_commits_and_forgets(self):
        consumer, service = FakeConsumer(P0, P1), FakeService()
        pipe = pipeline(consumer, service)
        service.hold["late"] = asyncio.Event()
        await pipe([received("done", 0), received("late", 0, tp=P1, cid="n:9")])
        await asyncio.sleep(0.01)
        pipe.committable({P0: 1, P1: 1})
        await pipe.on_partitions_revoked({P1})
        # "late" was only waiting (not mid-call): dropped, so P1's position stays at 0.
        assert consumer.commits == []
        assert pipe.buffered == 0
        assert "late" not in service.handled

    async def test_revoke_commits_what_finished_since_the_last_commit(self):
        consumer, service = FakeConsumer(P0), FakeService()
        pipe = pipeline(consumer, service)
        await pipe([received("a", 0), received("b", 1)])
        await asyncio.wait_for(pipe.lanes.wait_idle(), 5)
        await pipe.on_partitions_revoked({P0})
        assert consumer.commits == [{P0: 2}]


class TestFailures:
    async def test_database_outage_is_retried_until_it_passes(self):
        consumer, service = FakeConsumer(P0), FakeService()
        service.failures["c0"] = [AutoReconnect("down"), AutoReconnect("still down")]
        pipe = pipeline(consumer, service)
        await pipe([received("c0", 0)])
        await asyncio.wait_for(pipe.lanes.wait_idle(), 10)
        assert service.handled == ["c0"]
        assert pipe.healthy

    async def test_a_command_that_keeps_failing_is_dead_lettered_and_passed(self):
        consumer, service = FakeConsumer(P0), FakeService()
        service.failures["bad"] = [ValueError("bug")] * 5
        dead: list[tuple[int, str]] = []

        async def dead_letter(received, error):
            dead.append((received.offset, error))

        pipe = pipeline(consumer, service)
        pipe.dead_letter = dead_letter
        await pipe([received("bad", 0), received("next", 1)])
        await asyncio.wait_for(pipe.lanes.wait_idle(), 10)
        assert dead == [(0, "ValueError: bug")]
        assert service.handled == ["next"]
        assert pipe.committable({P0: 2}) == {P0: 2}
