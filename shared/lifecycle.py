"""The life of a consumer service, written once: start, run until stopped, close.

conversation_store and outbound_sender differ only in what they wire in
:meth:`ConsumerService.wire`; start-up failure handling, the ops side port, stop signals (also
during start-up) and closing what was opened, last-opened first, are the same for both and live
here.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

from shared.consumer import BatchConsumer
from shared.ops import Closers, ReadyCheck, install_stop_signals, ops_app, serve_ops, stop_ops

log = logging.getLogger(__name__)


class ConsumerService(ABC):
    """A service whose work is one :class:`BatchConsumer`: start it, run it until :meth:`stop`,
    then close it."""

    name: str = "service"

    def __init__(self) -> None:
        self.runner: BatchConsumer[Any] | None = None
        self.ops_port: int | None = None
        self.closers = Closers()
        self._stop_requested = False

    @abstractmethod
    async def wire(self) -> BatchConsumer[Any]:
        """Open the clients (register each with :attr:`closers`), build the pipeline, serve the
        ops endpoints (:meth:`serve_ops`) and return the consumer loop to run."""

    async def start(self) -> None:
        """Wire the service; whatever was opened before a failure is closed again."""
        try:
            self.runner = await self.wire()
        except BaseException:
            await self.close()
            raise
        if self._stop_requested:  # SIGTERM during start-up: run() returns at once
            self.runner.stop()

    async def serve_ops(self, ready: ReadyCheck, host: str, port: int) -> None:
        """Serve /healthz, /readyz and /metrics on a side port (0: any free port, then
        :attr:`ops_port` tells which)."""
        server, task = await serve_ops(ops_app(ready), host, port)
        self.closers.add(lambda: stop_ops(server, task))
        while not server.started and not task.done():  # noqa: ASYNC110 - uvicorn has no event
            await asyncio.sleep(0.01)
        sockets = [s for srv in getattr(server, "servers", []) for s in srv.sockets]
        self.ops_port = sockets[0].getsockname()[1] if sockets else None

    async def run(self) -> None:
        assert self.runner is not None, "start() first"
        await self.runner.run()

    def stop(self) -> None:
        """Finish the work in hand, commit it, and make :meth:`run` return (at once when it is
        called during :meth:`start`)."""
        self._stop_requested = True
        if self.runner is not None:
            self.runner.stop()

    async def close(self) -> None:
        await self.closers.close_all()


async def run_until_stopped(
    service: ConsumerService, started: Callable[[], None] | None = None
) -> None:
    """A service's process: stop on SIGTERM/SIGINT (also while starting), start, run, close."""
    install_stop_signals(service.stop)
    try:
        await service.start()
        if started is not None:
            started()
        await service.run()
        log.info("%s stopped: work in hand finished, offsets committed", service.name)
    finally:
        await service.close()


async def run_all_until_stopped(services: Sequence[ConsumerService]) -> None:
    """Several services in one process (conversation_store's fold and its media archiver): one
    stop signal stops them all, and one that fails stops the others; each closes what it
    opened, the last started first."""

    def stop_all() -> None:
        for service in services:
            service.stop()

    install_stop_signals(stop_all)
    started: list[ConsumerService] = []
    try:
        for service in services:
            started.append(service)
            await service.start()
        tasks = [asyncio.create_task(service.run()) for service in services]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        stop_all()  # a failure in one: the others finish their work in hand and return
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for service, result in zip(services, results, strict=True):
            if isinstance(result, BaseException):
                raise result
            log.info("%s stopped: work in hand finished, offsets committed", service.name)
    finally:
        for service in reversed(started):
            await service.close()
