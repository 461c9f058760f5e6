"""Hand-written fakes of webhook_ingest's ports."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from services.webhook_ingest.errors import PublishFailed
from services.webhook_ingest.ports import RawWebhook
from shared.events.base import Event


class FakePublisher:
    """Records what was published; can be held (slow broker) or made to fail (broker down)."""

    def __init__(self) -> None:
        self.published: list[tuple[RawWebhook, list[Event]]] = []
        self.calls = 0
        self.hold: asyncio.Event | None = None
        self.failure: str | None = None
        self.ready = True
        self._acks: set[asyncio.Task[None]] = set()

    async def send(self, raw: RawWebhook, events: Sequence[Event]) -> asyncio.Future[None]:
        self.calls += 1
        acks = asyncio.ensure_future(self._acknowledge(raw, list(events)))
        self._acks.add(acks)
        acks.add_done_callback(self._acks.discard)
        return acks

    async def _acknowledge(self, raw: RawWebhook, events: list[Event]) -> None:
        if self.hold is not None:
            await self.hold.wait()
        if self.failure is not None:
            raise PublishFailed(self.failure)
        self.published.append((raw, events))

    async def is_ready(self) -> bool:
        return self.ready


class ExplodingTenants:
    """A tenant lookup with a bug: every call raises."""

    def tenant_for_number(self, phone_number_id: str) -> str:
        raise RuntimeError("bug in the directory")

    def tenant_for_waba(self, waba_id: str) -> str:
        raise RuntimeError("bug in the directory")


class WithState:
    """What uvicorn does with the lifespan state, for tests: put it in each request scope."""

    def __init__(self, app: Any, state: dict[str, Any]) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope["state"] = dict(self.state)
        await self.app(scope, receive, send)


class InMemoryAliases:
    """``contact_aliases`` in a dict: the reads ContactDirectory makes and the inserts of
    ``AliasWrites`` (first writer wins); counts finds and can be made to fail (MongoDB down)."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.finds = 0
        self.inserts = 0
        self.repoints = 0
        self.down = False

    def find(self, filter: Mapping[str, Any], *args: Any, **kwargs: Any) -> Any:
        if self.down:
            raise ConnectionError("mongo is down")
        self.finds += 1
        wanted = filter["_id"]["$in"]
        found = [dict(self.docs[i]) for i in wanted if i in self.docs]

        async def cursor() -> Any:
            for doc in found:
                yield doc
        return cursor()

    async def insert_absent(self, docs: Sequence[dict[str, Any]]) -> set[str]:
        if self.down:
            raise ConnectionError("mongo is down")
        self.inserts += 1
        taken = set()
        for doc in docs:
            if doc["_id"] in self.docs:
                taken.add(doc["_id"])
            else:
                self.docs[doc["_id"]] = dict(doc)
        return taken

    async def repoint(self, alias: str, absorbed: str, survivor: str) -> bool:
        if self.down:
            raise ConnectionError("mongo is down")
        self.repoints += 1
        doc = self.docs.get(alias)
        if doc is None or doc["conversation_id"] != absorbed:
            return False
        doc["conversation_id"] = survivor
        return True

    def aliases(self) -> dict[str, str]:
        return {k: v["conversation_id"] for k, v in self.docs.items()}
