"""Several consumer services in one process (shared/lifecycle.py ``run_all_until_stopped``):
a stop stops them all, one that fails stops the others, and each closes what it opened."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from typing import Any

import pytest

from shared.lifecycle import ConsumerService, run_all_until_stopped


class Service(ConsumerService):
    """Runs until stopped (or fails when told to), and says what happened to it."""

    def __init__(self, name: str, log: list[str], fail: bool = False) -> None:
        super().__init__()
        self.name = name
        self.log = log
        self.fail = fail
        self.stopped = asyncio.Event()

    async def wire(self) -> Any:
        raise AssertionError("not used")

    async def start(self) -> None:
        self.log.append(f"start {self.name}")

    async def run(self) -> None:
        if self.fail:
            raise RuntimeError(f"{self.name} failed")
        await self.stopped.wait()
        self.log.append(f"stopped {self.name}")

    def stop(self) -> None:
        self.stopped.set()

    async def close(self) -> None:
        self.log.append(f"close {self.name}")


@pytest.fixture(autouse=True)
async def no_signal_handlers() -> AsyncIterator[None]:
    yield
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.remove_signal_handler(sig)


async def test_a_stop_stops_them_all_and_each_closes() -> None:
    log: list[str] = []
    services = [Service("store", log), Service("archiver", log)]
    running = asyncio.create_task(run_all_until_stopped(services))
    for _ in range(5):
        await asyncio.sleep(0)
    services[0].stop()  # what the signal handler calls for every one
    services[1].stop()
    await running
    assert log[:2] == ["start store", "start archiver"]
    assert set(log[2:4]) == {"stopped store", "stopped archiver"}
    assert log[4:] == ["close archiver", "close store"]


async def test_one_that_fails_stops_the_others_and_the_error_is_raised() -> None:
    log: list[str] = []
    services = [Service("store", log), Service("archiver", log, fail=True)]
    with pytest.raises(RuntimeError, match="archiver failed"):
        await run_all_until_stopped(services)
    assert "stopped store" in log
    assert log[-2:] == ["close archiver", "close store"]
