"""What every service exposes to its operators: /healthz, /readyz, /metrics, and fail-fast start-up.

``/healthz`` answers while the process runs its loop; ``/readyz`` only while its dependencies are
usable (the service passes a check). Consumer services serve these on a small side port.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

log = logging.getLogger(__name__)

ReadyCheck = Callable[[], bool | Awaitable[bool]]


class InfraUnavailable(RuntimeError):
    """A dependency named in the configuration cannot be reached at start-up."""


def ops_router(ready: ReadyCheck, metrics: bool = True) -> APIRouter:
    """/healthz, /readyz and (unless ``metrics`` is False: an API port that serves them on a
    separate ops port) /metrics."""
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(response: Response) -> dict[str, str]:
        result = ready()
        ok = await result if inspect.isawaitable(result) else result
        if not ok:
            response.status_code = 503
            return {"status": "not ready"}
        return {"status": "ready"}

    if metrics:
        @router.get("/metrics")
        async def prometheus_metrics() -> Response:
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def ops_app(ready: ReadyCheck) -> FastAPI:
    """A tiny app with only the operator endpoints (for consumer services)."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(ops_router(ready))
    return app


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signals to the service that embeds it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_ops(
    app: FastAPI, host: str, port: int
) -> tuple[EmbeddedServer, asyncio.Task[None]]:
    """Run ``app`` with uvicorn in this event loop; stop it with ``server.should_exit = True``."""
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=False, lifespan="off"
    )
    server = EmbeddedServer(config)
    task = asyncio.create_task(server.serve())
    return server, task


def install_stop_signals(stop: Callable[[], None]) -> None:
    """Call ``stop`` on SIGTERM (Kubernetes) and SIGINT (Ctrl-C), once each."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)


def run_main(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a service's async main; bad configuration or unreachable infra is one line, exit 2."""
    from shared.config import ConfigError

    try:
        asyncio.run(main())
    except (ConfigError, InfraUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        pass


async def stop_ops(server: EmbeddedServer, task: asyncio.Task[None]) -> None:
    """Stop an ops server started by :func:`serve_ops` and wait for it."""
    server.should_exit = True
    await task


class Closers:
    """What a service opened, closed last-opened first at shutdown; one failure (logged) does
    not keep the rest open."""

    def __init__(self) -> None:
        self._items: list[Callable[[], Any]] = []

    def add(self, close: Callable[[], Any]) -> None:
        self._items.append(close)

    async def close_all(self) -> None:
        for close in reversed(self._items):
            try:
                result = close()
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.warning("error while closing", exc_info=True)
        self._items.clear()
