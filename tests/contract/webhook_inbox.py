"""The callback URL the sandbox posts to in the contract suite, read through pywa.

:class:`WebhookInbox` keeps every POST as it came (raw body and ``X-Hub-Signature-256``) and
answers 200, as a webhook endpoint should. :meth:`WebhookInbox.updates` reads the POSTs with
pywa (:class:`~tests.contract.pywa_reader.PywaReader`), so a test sees exactly what an
integration built on pywa would see, and a POST pywa cannot read fails the test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import FastAPI, Request, Response
from pywa.types.base_update import BaseUpdate
from pywa_async.types.message_status import MessageStatus

from tests.contract.pywa_reader import PywaReader

U = TypeVar("U", bound=BaseUpdate)
PATH = "/webhook"


@dataclass(frozen=True)
class WebhookPost:
    body: bytes
    signature: str | None


class WebhookInbox:
    """Receives the sandbox's webhooks; :meth:`updates` gives them as pywa's typed updates."""

    def __init__(self) -> None:
        self.url = ""  # set once served
        self.reader: PywaReader | None = None  # set once the pywa client exists
        self.posts: list[WebhookPost] = []
        self._read: list[BaseUpdate] = []
        self._read_posts = 0

    def clear(self) -> None:
        """Forget every POST received so far."""
        self.posts.clear()
        self._read.clear()
        self._read_posts = 0

    def app(self) -> FastAPI:
        api = FastAPI()

        @api.post(PATH)
        async def receive(request: Request) -> Response:
            self.posts.append(WebhookPost(await request.body(),
                                          request.headers.get("x-hub-signature-256")))
            return Response(status_code=200)

        return api

    async def updates(self) -> list[BaseUpdate]:
        """Every update received so far, typed by pywa, in arrival order."""
        assert self.reader is not None, "no pywa client to read with"
        while self._read_posts < len(self.posts):
            post = self.posts[self._read_posts]
            self._read.extend(await self.reader.read(post.body, post.signature))
            self._read_posts += 1
        return list(self._read)

    async def of(self, kind: type[U]) -> list[U]:
        return [u for u in await self.updates() if isinstance(u, kind)]

    async def statuses(self, wamid: str) -> list[MessageStatus[Any]]:
        """The status updates of one sent message, in arrival order."""
        return [s for s in await self.of(MessageStatus) if s.id == wamid]

    async def wait_for(self, kind: type[U], match: Callable[[U], bool] = lambda _: True,
                       timeout: float = 5.0) -> U:
        """The first update of ``kind`` that ``match``es, once it has arrived."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = [u for u in await self.of(kind) if match(u)]
            if found:
                return found[0]
            if asyncio.get_running_loop().time() > deadline:
                seen = [type(u).__name__ for u in await self.updates()]
                raise AssertionError(f"no matching {kind.__name__} in {timeout} s; got {seen}")
            await asyncio.sleep(0.02)
