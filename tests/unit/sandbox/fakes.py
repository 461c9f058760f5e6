"""Hand-written fakes for the sandbox's ports, and a manual clock."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from sandbox.dispatcher import WebhookUnreachable

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class ManualClock:
    """Wall clock that only moves when told."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class ManualMonotonic:
    """Monotonic seconds that only move when told (rate limiting)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeTransport:
    """Records every webhook body; answers from a script (HTTP status, or None = unreachable)."""

    def __init__(self, answers: Iterable[int | None] = ()) -> None:
        self.answers = list(answers)
        self.bodies: list[bytes] = []
        self.posted = asyncio.Event()

    async def post(self, body: bytes) -> int:
        self.bodies.append(body)
        self.posted.set()
        answer = self.answers.pop(0) if self.answers else 200
        if answer is None:
            raise WebhookUnreachable("connection refused")
        return answer

    def payloads(self) -> list[dict[str, Any]]:
        return [orjson.loads(b) for b in self.bodies]

    def statuses(self) -> list[dict[str, Any]]:
        """Every status item posted, in posting order."""
        return [
            status
            for payload in self.payloads()
            for entry in payload["entry"]
            for change in entry["changes"]
            for status in change["value"].get("statuses", [])
        ]


class WithState:
    """What uvicorn does with the lifespan state, for tests: put it in each request scope."""

    def __init__(self, app: Any, state: dict[str, Any]) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope["state"] = dict(self.state)
        await self.app(scope, receive, send)
