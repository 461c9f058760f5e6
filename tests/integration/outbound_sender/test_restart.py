"""The sender killed mid-stream (SIGKILL) and restarted: every command sent at most once, each
with an outcome; a call in flight at the kill is reported unknown, never resent."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from services.outbound_sender.main import SenderService
from shared.config import InfraSettings
from tests.integration.outbound_sender.conftest import (
    CHANNEL,
    inbox,
    prepare_database,
    reference_counts,
    sender_settings,
    spawn_sender,
    template,
)

pytestmark = pytest.mark.integration
NUMBER = CHANNEL.phone_number_id
COMMANDS = 240


def spawn(settings: InfraSettings, base_url: str, log: Any) -> subprocess.Popen[bytes]:
    config = sender_settings(settings, base_url, call_deadline_seconds=2.0,
                             lease_margin_seconds=1.0)
    return spawn_sender(settings, config, log)


async def test_killed_mid_stream_and_restarted_sends_every_command_at_most_once(
    settings: InfraSettings, producer: Any, db: Any, tmp_path: Path
):
    await prepare_database(db)
    async with inbox(settings, producer, with_customers=False, sender=False) as rig:
        # 24 conversations, 10 commands each; every answer takes 0.3 s, so about two dozen
        # calls are in flight at any moment.
        await rig.command(*[template(f"k{c:02d}-{n}", customer=f"1650555{c:04d}")
                            for n in range(COMMANDS // 24) for c in range(24)])
        await rig.sandbox.inject_fault(NUMBER, "slow", count=10_000, seconds=0.3)
        log = (tmp_path / "sender.log").open("wb")
        process = spawn(settings, rig.sandbox.cloud_api_base_url, log)
        try:
            deadline = time.monotonic() + 30
            while len(await rig.sandbox.accepted(NUMBER)) < 60:
                assert time.monotonic() < deadline, "the sender did not start sending"
                await asyncio.sleep(0.05)
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            killed_at = len(await rig.sandbox.received(NUMBER))
            await rig.sandbox.clear_faults(NUMBER)
            process = spawn(settings, rig.sandbox.cloud_api_base_url, log)
            # The group first waits out the killed member's session (10 s).
            outcomes = await rig.outcomes(COMMANDS, timeout=60)
            process.send_signal(signal.SIGTERM)
            assert process.wait(30) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)

        assert len(outcomes) == COMMANDS
        sent = reference_counts(await rig.sent_bodies())
        assert max(sent.values()) == 1  # nothing went out twice
        unknown = set()
        for command_id, events in outcomes.items():
            kinds = {e.type for e in events}  # repeats after the restart are the same event
            assert len({e.event_id for e in events}) == 1, command_id
            if kinds == {"outbound.accepted"}:
                assert sent.get(command_id) == 1, command_id
            else:
                assert kinds == {"outbound.unknown"}, (command_id, kinds)
                unknown.add(command_id)
        # Every message that went out is reported: accepted, or unknown (in flight at the kill).
        assert set(sent) <= set(outcomes)
        assert 0 < len(unknown) <= killed_at
        assert len(await rig.sandbox.received(NUMBER)) >= COMMANDS - len(unknown)


async def test_graceful_stop_records_calls_in_flight_and_a_restart_sends_the_rest(
    settings: InfraSettings, producer: Any, db: Any
):
    await prepare_database(db)
    async with inbox(settings, producer, with_customers=False, sender=False) as rig:
        await rig.command(*[template(f"g{n:02d}", customer=f"1650556{n:04d}") for n in range(40)])
        await rig.sandbox.inject_fault(NUMBER, "slow", count=10_000, seconds=0.5)

        async def started() -> tuple[SenderService, asyncio.Task[None]]:
            sender = SenderService(sender_settings(settings, rig.sandbox.cloud_api_base_url),
                                   clock=rig.clock.now)
            await sender.start()
            return sender, asyncio.create_task(sender.run())

        sender, task = await started()
        deadline = time.monotonic() + 30
        while len(await rig.sandbox.received(NUMBER)) < 10:
            assert time.monotonic() < deadline, "the sender did not start sending"
            await asyncio.sleep(0.05)
        sender.stop()  # SIGTERM: calls in flight (0.5 s each) finish before run() returns
        await asyncio.wait_for(task, 30)
        await sender.close()
        reached = reference_counts([r.body for r in await rig.sandbox.received(NUMBER)])
        stopped = await rig.outcomes(len(reached))
        assert {c: [e.type for e in stopped[c]] for c in reached} == {
            c: ["outbound.accepted"] for c in reached}  # recorded and published, none unknown

        await rig.sandbox.clear_faults(NUMBER)
        sender, task = await started()
        try:
            outcomes = await rig.outcomes(40)
        finally:
            sender.stop()
            await asyncio.wait_for(task, 30)
            await sender.close()
        assert {e.type for events in outcomes.values() for e in events} == {"outbound.accepted"}
        assert reference_counts(await rig.sent_bodies()) == {c: 1 for c in outcomes}


async def test_a_second_replica_joining_mid_stream_sends_nothing_twice(
    settings: InfraSettings, producer: Any, db: Any
):
    await prepare_database(db)
    async with inbox(settings, producer, with_customers=False, sender=False) as rig:
        await rig.command(*[template(f"r{c:02d}-{n}", customer=f"1650557{c:04d}")
                            for n in range(8) for c in range(30)])
        await rig.sandbox.inject_fault(NUMBER, "slow", count=10_000, seconds=0.2)
        replicas: list[tuple[SenderService, asyncio.Task[None]]] = []
        for name in ("replica-a", "replica-b"):
            # Each replica paces half the number's throughput (OUTBOUND_SENDER_THROUGHPUT_SHARE).
            sender = SenderService(sender_settings(
                settings, rig.sandbox.cloud_api_base_url, instance_id=name,
                throughput_share=0.5), clock=rig.clock.now)
            await sender.start()
            replicas.append((sender, asyncio.create_task(sender.run())))
            if name == "replica-a":
                deadline = time.monotonic() + 30
                while len(await rig.sandbox.received(NUMBER)) < 20:
                    assert time.monotonic() < deadline, "the sender did not start sending"
                    await asyncio.sleep(0.05)
        try:
            outcomes = await rig.outcomes(240, timeout=60)
        finally:
            for sender, _ in replicas:
                sender.stop()
            for sender, task in replicas:
                await asyncio.wait_for(task, 30)
                await sender.close()
        assert len(outcomes) == 240
        assert {e.type for events in outcomes.values() for e in events} == {"outbound.accepted"}
        assert reference_counts(await rig.sent_bodies()) == {c: 1 for c in outcomes}
        owners = {doc["owner"] async for doc in db.send_attempts.find({}, {"owner": 1})}
        assert owners == {"replica-a", "replica-b"}  # both did part of the work
