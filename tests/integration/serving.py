"""Serving an ASGI app for real (uvicorn, a loopback socket, its lifespan) inside a test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn


@asynccontextmanager
async def served(app: Any, port: int = 0) -> AsyncIterator[int]:
    """Run ``app`` on 127.0.0.1 (``port`` 0 picks a free one) until the block ends; yields the
    bound port."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                           access_log=False, lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task
            raise RuntimeError("the app did not start")
        await asyncio.sleep(0.05)
    bound: int = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield bound
    finally:
        server.should_exit = True
        await task
