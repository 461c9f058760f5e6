"""Load: customers write in through the sandbox, agents answer through inbox_api's HTTP API.

Bounded in count and in time, paced at a rate, reproducible from a seed. Every action is its own
task, so a stalled dependency slows nothing else down, and everything it did is recorded for the
invariants: each inbound message with the answer webhook_ingest gave to its first POST, and each
send with its idempotency key (hence its command id), what inbox_api finally answered and why.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import httpx

from sandbox.testing import SandboxControlError
from services.inbox_api.conversations.commands import command_id_for
from shared.phone import conversation_id
from tests.reliability.harness import TENANT, ReliabilityStack

SendKind = Literal["text", "template", "first_contact", "refusable"]
Answer = Literal["accepted", "refused", "not_found", "gave_up", "invalid"]
# An agent retries a send answered 5xx (or not answered) with the same Idempotency-Key this long.
SEND_RETRY_SECONDS = 90.0
# A reply goes to a conversation the store may not have folded yet: 404 is retried this long.
NOT_FOUND_RETRY_SECONDS = 20.0


@dataclass
class InboundItem:
    """One customer message as the sandbox sent it."""

    wamid: str
    phone_number_id: str
    wa_id: str
    conversation_id: str
    timestamp: datetime
    webhook_status: int | None  # webhook_ingest's answer to the first POST
    payload: dict[str, Any]


@dataclass
class SendItem:
    """One send an agent asked inbox_api for, with what it finally answered."""

    key: str
    command_id: str
    kind: SendKind
    conversation_id: str
    phone_number_id: str
    customer: str
    answer: Answer = "gave_up"
    http_status: int | None = None
    reason: str | None = None  # a refusal's reason (409)
    hint: str | None = None
    attempts: int = 0


@dataclass
class LoadConfig:
    rate: float = 8.0  # actions per second
    max_actions: int = 200
    max_seconds: float = 30.0
    customers_per_number: int = 6
    stale_customers: int = 2  # wrote 25 h ago: free-form to them is refused (window_expired)
    fresh_customers: int = 3  # never wrote: reached by a first-contact template
    concurrency: int = 24
    weights: dict[str, float] = field(default_factory=lambda: {
        "inbound": 0.5, "text": 0.3, "template": 0.08, "first_contact": 0.05,
        "refusable": 0.07})


@dataclass
class LoadRecord:
    """What one scenario's load did."""

    tag: str
    inbound: list[InboundItem] = field(default_factory=list)
    sends: list[SendItem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def messages(self) -> int:
        return len(self.inbound) + len(self.sends)

    def customers(self) -> set[str]:
        return {r.wa_id for r in self.inbound} | {s.customer for s in self.sends}

    def conversations(self) -> set[str]:
        return {r.conversation_id for r in self.inbound} | {
            s.conversation_id for s in self.sends if s.answer != "not_found"}


class Load:
    """Drives one scenario's traffic; ``tag`` (two digits) keeps its customers its own."""

    def __init__(self, stack: ReliabilityStack, rng: random.Random, tag: int,
                 config: LoadConfig | None = None) -> None:
        self.stack = stack
        self.rng = rng
        self.config = config or LoadConfig()
        self.record = LoadRecord(tag=f"{tag:03d}")
        numbers = [c.phone_number_id for c in stack.channels]
        base = f"1650{tag:03d}"
        self.active = [(n, f"{base}{i:04d}") for i, n in
                       ((i, numbers[i % len(numbers)])
                        for i in range(self.config.customers_per_number * len(numbers)))]
        self.stale = [(numbers[i % len(numbers)], f"{base}8{i:03d}")
                      for i in range(self.config.stale_customers)]
        self.fresh = [(numbers[i % len(numbers)], f"{base}9{i:03d}")
                      for i in range(self.config.fresh_customers)]
        self._active = set(self.active)
        self._wrote: set[tuple[str, str]] = set()
        self._contacted: set[tuple[str, str]] = set()  # got a first-contact template
        self._tasks: set[asyncio.Task[None]] = set()
        self._limit = asyncio.Semaphore(self.config.concurrency)
        self.stopped = asyncio.Event()

    async def prepare(self) -> None:
        """The stale customers write "25 hours ago" (the sandbox's clock moved back, then
        forward again), so their window is closed for the sandbox and the inbox alike."""
        if not self.stale:
            return
        await self.stack.sandbox.advance_clock(-25 * 3600)
        try:
            for number, wa_id in self.stale:
                await self.inbound(number, wa_id, "an old question")
        finally:
            await self.stack.sandbox.advance_clock(25 * 3600)

    async def run(self) -> LoadRecord:
        """Act at the configured rate until the count or the time is used up; then wait for the
        actions still in flight (each is bounded)."""
        config = self.config
        started = time.monotonic()
        kinds = list(config.weights)
        weights = [config.weights[k] for k in kinds]
        for n in range(config.max_actions):
            if self.stopped.is_set() or time.monotonic() - started > config.max_seconds:
                break
            kind = self.rng.choices(kinds, weights)[0]
            action = self._action(kind)
            if action is not None:
                await self._limit.acquire()
                task = asyncio.create_task(self._run(action))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            next_at = started + (n + 1) / config.rate
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        await self.drain()
        return self.record

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _run(self, action: Any) -> None:
        try:
            await action
        except Exception as exc:  # recorded, the load goes on
            self.record.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            self._limit.release()

    def _action(self, kind: str) -> Any:
        rng = self.rng
        if kind == "inbound" or not self._wrote:
            number, wa_id = rng.choice(self.active)
            return self.inbound(number, wa_id, f"question {rng.randrange(10**6)}")
        if kind == "text":
            number, wa_id = rng.choice(sorted(self._wrote))
            return self.send("text", number, wa_id,
                             {"kind": "text", "text": f"answer {rng.randrange(10**6)}"})
        if kind == "template":
            number, wa_id = rng.choice(sorted(self._wrote))
            return self.send("template", number, wa_id, {
                "kind": "template", "template_name": "order_update", "language": "en_US",
                "variables": {"1": "Ana", "2": f"A-{rng.randrange(1000)}"}})
        if kind == "first_contact":
            candidates = [c for c in self.fresh if c not in self._contacted]
            if not candidates:
                return None
            number, wa_id = rng.choice(candidates)
            self._contacted.add((number, wa_id))
            return self.first_contact(number, wa_id)
        # refusable: free-form outside the window, or to a customer who never wrote
        pool = [("stale", c) for c in self.stale] + [("fresh", c) for c in self._contacted]
        if not pool:
            return None
        _, (number, wa_id) = rng.choice(pool)
        return self.send("refusable", number, wa_id,
                         {"kind": "text", "text": "are you still there?"})

    # -- the customer ------------------------------------------------------------------------

    async def inbound(self, number: str, wa_id: str, text: str) -> InboundItem:
        result = await self.stack.sandbox.customer_says(number, wa_id, text, name=f"C {wa_id}")
        record = InboundItem(wamid=result.wamid, phone_number_id=number, wa_id=wa_id,
                               conversation_id=conversation_id(number, wa_id),
                               timestamp=result.timestamp, webhook_status=result.webhook_status,
                               payload=result.payload)
        self.record.inbound.append(record)
        if result.webhook_status == 200 and (number, wa_id) in self._active:
            self._wrote.add((number, wa_id))
        return record

    # -- the agent ---------------------------------------------------------------------------

    async def first_contact(self, number: str, wa_id: str) -> SendItem:
        return await self._submit("first_contact", number, wa_id, "/conversations", {
            "business_phone_number_id": number, "customer_wa_id": wa_id,
            "template_name": "hello_world", "language": "en_US", "variables": {}})

    async def send(self, kind: SendKind, number: str, wa_id: str,
                   body: dict[str, Any]) -> SendItem:
        cid = conversation_id(number, wa_id)
        return await self._submit(kind, number, wa_id, f"/conversations/{cid}/messages", body)

    async def _submit(self, kind: SendKind, number: str, wa_id: str, path: str,
                      body: dict[str, Any]) -> SendItem:
        key = f"rel-{self.record.tag}-{uuid.UUID(int=self.rng.getrandbits(128))}"
        record = SendItem(key=key, command_id=command_id_for(TENANT, key), kind=kind,
                            conversation_id=conversation_id(number, wa_id),
                            phone_number_id=number, customer=wa_id)
        self.record.sends.append(record)
        started = time.monotonic()
        delay = 0.3
        while True:
            record.attempts += 1
            status: int | None = None
            data: dict[str, Any] = {}
            try:
                response = await self.stack.api("POST", path, json=body,
                                                headers={"Idempotency-Key": key}, timeout=15.0)
                status = response.status_code
                if response.content:
                    try:
                        data = response.json()
                    except ValueError:
                        data = {}
            except httpx.HTTPError:
                status = None
            record.http_status = status
            elapsed = time.monotonic() - started
            if status == 202:
                record.answer = "accepted"
                return record
            if status == 409:
                record.answer = "refused"
                record.reason = data.get("reason")
                record.hint = data.get("hint")
                return record
            if status == 404 and elapsed < NOT_FOUND_RETRY_SECONDS:
                pass  # the store has not folded the conversation yet
            elif status == 404:
                record.answer = "not_found"
                return record
            elif status is not None and 400 <= status < 500:
                record.answer = "invalid"
                record.reason = str(data)[:300]
                return record
            elif elapsed > SEND_RETRY_SECONDS:
                record.answer = "gave_up"
                return record
            await asyncio.sleep(delay)
            delay = min(delay * 2, 3.0)


async def probe_inbound(load: Load, number_index: int = 0) -> InboundItem | None:
    """One more customer message now (recorded like the others); None if the sandbox did not
    answer."""
    number, wa_id = load.active[number_index % len(load.active)]
    try:
        return await load.inbound(number, wa_id, "probe")
    except (SandboxControlError, httpx.HTTPError):
        return None
