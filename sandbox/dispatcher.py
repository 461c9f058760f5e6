"""Posting webhooks in the background: scheduled statuses, batched, with bounded retries.

Statuses wait in a heap until they are due; every ``interval`` the due ones are posted, up to
``batch_max`` per POST (Meta batches several statuses in one webhook too), at most
``concurrency`` POSTs at once. A POST answered with anything but 2xx, or that cannot connect, is
retried with exponential backoff up to ``max_attempts`` times, then dropped and counted (Meta
retries for 7 days; a sandbox gives up in about a minute). Everything waiting is bounded by
``queue_limit``: beyond it new statuses are dropped and counted, the send path never blocks.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import orjson

from sandbox import metrics
from sandbox.webhooks import Raw, statuses_payload
from shared.channels import Channel

log = logging.getLogger(__name__)


class WebhookUnreachable(Exception):
    """The webhook URL could not be reached (connection refused, timeout)."""


class WebhookTransport(Protocol):
    """Where webhooks go (webhook_ingest's POST endpoint)."""

    async def post(self, body: bytes) -> int:
        """POST a signed webhook body; the HTTP status, or :class:`WebhookUnreachable`."""
        ...


@dataclass(slots=True)
class _Status:
    channel: Channel
    item: Raw


@dataclass(slots=True)
class _Retry:
    body: bytes
    attempt: int  # the attempt this will be


@dataclass(slots=True)
class _Call:
    """Something to do when due (a template review ends), which may schedule webhooks."""

    action: Callable[[], None]


@dataclass(frozen=True, slots=True)
class DispatchOptions:
    batch_max: int = 100
    interval: float = 0.05
    concurrency: int = 4
    max_attempts: int = 6
    retry_base: float = 0.5
    retry_max: float = 30.0
    queue_limit: int = 200_000


class WebhookDispatcher:
    """Schedules status webhooks and posts them; posts customer messages at once."""

    def __init__(self, transport: WebhookTransport | None, options: DispatchOptions,
                 rng: random.Random | None = None) -> None:
        self.transport = transport
        self.options = options
        self._rng = rng or random.Random()
        self._heap: list[tuple[float, int, _Status | _Retry | _Call]] = []
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(options.concurrency)
        self._inflight: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self.posted = 0
        self.failed_posts = 0
        self.dropped = 0
        metrics.PENDING.set_function(lambda: len(self._heap))

    @property
    def enabled(self) -> bool:
        return self.transport is not None

    @property
    def pending(self) -> int:
        return len(self._heap) + len(self._inflight)

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def schedule(self, channel: Channel, item: Raw, after: float) -> bool:
        """Post ``item`` (a ``statuses[]`` element) ``after`` seconds from now; False if dropped."""
        if self.transport is None:
            metrics.DROPPED.labels("no_webhook_url").inc()
            return False
        if len(self._heap) >= self.options.queue_limit:
            self.dropped += 1
            metrics.DROPPED.labels("queue_full").inc()
            return False
        heapq.heappush(self._heap, (self._now() + after, next(self._seq), _Status(channel, item)))
        self._wake.set()
        return True

    def schedule_body(self, body: bytes, after: float) -> bool:
        """Post a whole webhook body (a template update) ``after`` seconds from now, alone."""
        if self.transport is None:
            metrics.DROPPED.labels("no_webhook_url").inc()
            return False
        heapq.heappush(self._heap, (self._now() + after, next(self._seq), _Retry(body, 1)))
        self._wake.set()
        return True

    def schedule_call(self, action: Callable[[], None], after: float) -> None:
        """Run ``action`` ``after`` seconds from now; ``wait_idle`` waits for it too."""
        heapq.heappush(self._heap, (self._now() + after, next(self._seq), _Call(action)))
        self._wake.set()

    async def post_now(self, body: bytes) -> int | None:
        """POST a webhook at once (a customer message): its HTTP status, None if unreachable.

        A failed first attempt is retried in the background like any other webhook.
        """
        if self.transport is None:
            return None
        try:
            status = await self.transport.post(body)
        except WebhookUnreachable:
            status = None
        if status is not None and 200 <= status < 300:
            self.posted += 1
            metrics.WEBHOOK_POSTS.labels("ok").inc()
        else:
            self._failed(body, attempt=1)
        return status

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="sandbox-webhooks")

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Stop scheduling; let POSTs in flight finish (for at most ``grace_seconds``)."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._inflight:
            _, still = await asyncio.wait(set(self._inflight), timeout=grace_seconds)
            for task in still:
                task.cancel()
        if self._heap:
            log.info("sandbox stopped with webhooks still scheduled",
                     extra={"pending": len(self._heap)})

    async def wait_idle(self, timeout: float) -> bool:
        """True once nothing is scheduled or in flight; False if ``timeout`` passed first."""
        deadline = self._now() + timeout
        while self._heap or self._inflight:
            if self._now() >= deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    def clear(self) -> None:
        """Forget everything scheduled (POSTs in flight still finish)."""
        self._heap.clear()

    async def _run(self) -> None:
        while True:
            await self._wait_for_due()
            await self._post_due()
            # Let a tick's worth of statuses become due, so that they share POSTs.
            await asyncio.sleep(self.options.interval)

    async def _wait_for_due(self) -> None:
        while True:
            delay: float | None = None
            if self._heap:
                delay = self._heap[0][0] - self._now()
                if delay <= 0:
                    return
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), delay)
            except TimeoutError:
                pass

    async def _post_due(self) -> None:
        """Post everything due, one POST per free slot (waiting items stay in the bounded heap)."""
        while self._heap and self._heap[0][0] <= self._now():
            await self._slots.acquire()  # released when that POST is done
            post = self._next_post()
            if post is None:
                self._slots.release()
            else:
                self._spawn(*post)

    def _next_post(self) -> tuple[bytes, int] | None:
        """The next POST's body and attempt: a due retry alone, or up to batch_max statuses."""
        heap, now = self._heap, self._now()
        statuses: list[tuple[Channel, Raw]] = []
        while heap and heap[0][0] <= now and len(statuses) < self.options.batch_max:
            entry = heap[0][2]
            if isinstance(entry, _Call):
                heapq.heappop(heap)
                try:
                    entry.action()
                except Exception:
                    log.exception("scheduled sandbox action failed")
                continue
            if isinstance(entry, _Retry):
                if statuses:
                    break  # the retry gets the next slot
                heapq.heappop(heap)
                return entry.body, entry.attempt
            heapq.heappop(heap)
            statuses.append((entry.channel, entry.item))
        if not statuses:
            return None
        return orjson.dumps(statuses_payload(statuses)), 1

    def _spawn(self, body: bytes, attempt: int) -> None:
        """POST in the background; the caller holds a slot, which the POST releases."""
        task = asyncio.create_task(self._deliver(body, attempt))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _deliver(self, body: bytes, attempt: int) -> None:
        assert self.transport is not None
        try:
            status: int | None = await self.transport.post(body)
        except WebhookUnreachable:
            status = None
        except Exception:
            log.exception("webhook POST raised")
            status = None
        finally:
            self._slots.release()
        if status is not None and 200 <= status < 300:
            self.posted += 1
            metrics.WEBHOOK_POSTS.labels("ok").inc()
            return
        self._failed(body, attempt)

    def _failed(self, body: bytes, attempt: int) -> None:
        self.failed_posts += 1
        metrics.WEBHOOK_POSTS.labels("failed").inc()
        if attempt >= self.options.max_attempts:
            self.dropped += 1
            metrics.WEBHOOK_POSTS.labels("given_up").inc()
            metrics.DROPPED.labels("retries_exhausted").inc()
            log.warning("webhook dropped after retries", extra={"attempts": attempt})
            return
        delay = min(self.options.retry_max, self.options.retry_base * 2 ** (attempt - 1))
        delay *= 0.8 + 0.4 * self._rng.random()
        heapq.heappush(self._heap, (self._now() + delay, next(self._seq),
                                    _Retry(body, attempt + 1)))
        self._wake.set()


def backoff_schedule(options: DispatchOptions) -> list[float]:
    """The nominal waits between attempts (documentation and tests)."""
    return [min(options.retry_max, options.retry_base * 2 ** (n - 1))
            for n in range(1, options.max_attempts)]

