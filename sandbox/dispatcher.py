"""Posting webhooks in the background: scheduled statuses, batched, with bounded retries.

Statuses wait in a heap until they are due; every ``interval`` the due ones are posted, up to
``batch_max`` per POST (Meta batches several statuses in one webhook too), at most
``concurrency`` POSTs at once. A POST answered with anything but 2xx, or that cannot connect, is
retried with exponential backoff (capped at ``retry_max``) up to ``max_attempts`` times, or, when
``retry_seconds`` is set, for that long after its first attempt however many attempts that takes;
then it is dropped and counted (Meta retries for 7 days; a sandbox gives up in about 15 s by
default). Everything waiting is bounded by ``queue_limit``: beyond it new statuses are dropped
and counted, the send path never blocks.

Every status item scheduled, and every customer message posted, is recorded (``statuses``,
``inbound``: :class:`~sandbox.records.DeliveryLog`) with its delivery state: POSTs tried,
delivered (a POST carrying it was answered 2xx), dropped.

``customers`` (:class:`~sandbox.identity.CustomerBook`) holds who the webhooks showed: the
profile each customer message carried (statuses' ``contacts[]`` show it again) and each BSUID's
number. A status is given its ``recipient_user_id`` when scheduled (but a failed one, as Meta's).

Size: one background poster (heap, batching, retries, records); its parts share one queue and
its bounds.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol

import orjson
from pydantic import BaseModel, ConfigDict, Field

from sandbox import metrics
from sandbox.identity import CustomerBook, user_id_or_none
from sandbox.records import DeliveryLog, EmittedLog, InboundLog
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
    seq: int  # in the statuses log


@dataclass(slots=True)
class _Post:
    """One webhook body to POST (again), and the log entries it carries."""

    body: bytes
    attempt: int  # the attempt this will be
    first_at: float | None = None  # loop time of the first attempt (None: not tried yet)
    log: DeliveryLog | None = None
    seqs: tuple[int, ...] = ()


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
    retry_seconds: float | None = None  # set: retry for this long, whatever max_attempts says
    queue_limit: int = 200_000
    record_limit: int = 500_000  # statuses and customer messages remembered, each


class RetryPolicy(BaseModel):
    """The retry budget of webhook POSTs, changeable at run time (``PATCH /_sandbox/behaviour``).

    ``webhook_retry_seconds`` set: a failed webhook is retried for that long after its first
    attempt (Meta: 7 days), backing off up to ``webhook_retry_max_seconds`` between attempts;
    unset: at most ``webhook_max_attempts`` attempts.
    """

    model_config = ConfigDict(extra="forbid")

    webhook_max_attempts: int = Field(default=6, ge=1, le=1000)
    webhook_retry_base_seconds: float = Field(default=0.5, gt=0, le=3600)
    webhook_retry_max_seconds: float = Field(default=30.0, gt=0, le=3600)
    webhook_retry_seconds: float | None = Field(default=None, ge=0, le=7 * 86400)


class WebhookDispatcher:
    """Schedules status webhooks and posts them; posts customer messages at once."""

    def __init__(self, transport: WebhookTransport | None, options: DispatchOptions,
                 rng: random.Random | None = None) -> None:
        self.transport = transport
        self.options = options
        self.statuses = EmittedLog(options.record_limit)
        self.inbound = InboundLog(options.record_limit)
        self.customers = CustomerBook()
        self._rng = rng or random.Random()
        self._heap: list[tuple[float, int, _Status | _Post | _Call]] = []
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

    @property
    def retries(self) -> RetryPolicy:
        o = self.options
        return RetryPolicy(webhook_max_attempts=o.max_attempts,
                           webhook_retry_base_seconds=o.retry_base,
                           webhook_retry_max_seconds=o.retry_max,
                           webhook_retry_seconds=o.retry_seconds)

    def set_retries(self, policy: RetryPolicy) -> None:
        """Change the retry budget; it applies to webhooks already waiting for a retry too."""
        self.options = replace(self.options, max_attempts=policy.webhook_max_attempts,
                               retry_base=policy.webhook_retry_base_seconds,
                               retry_max=policy.webhook_retry_max_seconds,
                               retry_seconds=policy.webhook_retry_seconds)

    def schedule(self, channel: Channel, item: Raw, after: float,
                 at: datetime | None = None) -> bool:
        """Post ``item`` (a ``statuses[]`` element) ``after`` seconds from now; False if dropped.

        ``at``: when the status happened on the sandbox's clock (default: the item's timestamp).
        ``item`` gets its ``recipient_user_id`` here unless it is failed or has one already.
        """
        if self.transport is None:
            metrics.DROPPED.labels("no_webhook_url").inc()
            return False
        if item["status"] != "failed" and "recipient_user_id" not in item:
            user_id = user_id_or_none(channel.waba_id, item.get("recipient_id", ""))
            if user_id is not None:
                item["recipient_user_id"] = user_id
        full = len(self._heap) >= self.options.queue_limit
        errors = item.get("errors")
        seq = self.statuses.add(
            item["id"], channel.phone_number_id, item.get("recipient_id", ""), item["status"],
            at if at is not None else datetime.fromtimestamp(int(item["timestamp"]), UTC),
            item.get("biz_opaque_callback_data"), errors[0]["code"] if errors else None,
            dropped=full, recipient_user_id=item.get("recipient_user_id"))
        if full:
            self.dropped += 1
            metrics.DROPPED.labels("queue_full").inc()
            return False
        heapq.heappush(self._heap, (self._now() + after, next(self._seq),
                                    _Status(channel, item, seq)))
        self._wake.set()
        return True

    def schedule_body(self, body: bytes, after: float) -> bool:
        """Post a whole webhook body (a template update) ``after`` seconds from now, alone."""
        if self.transport is None:
            metrics.DROPPED.labels("no_webhook_url").inc()
            return False
        heapq.heappush(self._heap, (self._now() + after, next(self._seq), _Post(body, 1)))
        self._wake.set()
        return True

    def schedule_call(self, action: Callable[[], None], after: float) -> None:
        """Run ``action`` ``after`` seconds from now; ``wait_idle`` waits for it too."""
        heapq.heappush(self._heap, (self._now() + after, next(self._seq), _Call(action)))
        self._wake.set()

    async def post_now(self, body: bytes, inbound_seq: int | None = None) -> int | None:
        """POST a webhook at once (a customer message): its HTTP status, None if unreachable.

        A failed first attempt is retried in the background like any other webhook;
        ``inbound_seq`` (from ``inbound.add``) is the entry that records how it goes.
        """
        if self.transport is None:
            return None
        # Statuses to this customer show the profile their messages showed (Meta's contacts[]).
        try:
            self.customers.learn(orjson.loads(body))
        except orjson.JSONDecodeError:
            pass
        post = _Post(body, 1, self._now())
        if inbound_seq is not None:
            post.log, post.seqs = self.inbound, (inbound_seq,)
        try:
            status: int | None = await self.transport.post(body)
        except WebhookUnreachable:
            status = None
        self._done(post, status)
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
                self._spawn(post)

    def _next_post(self) -> _Post | None:
        """The next POST: a due retry alone, or up to batch_max statuses."""
        heap, now = self._heap, self._now()
        statuses: list[tuple[Channel, Raw]] = []
        seqs: list[int] = []
        while heap and heap[0][0] <= now and len(statuses) < self.options.batch_max:
            entry = heap[0][2]
            if isinstance(entry, _Call):
                heapq.heappop(heap)
                try:
                    entry.action()
                except Exception:
                    log.exception("scheduled sandbox action failed")
                continue
            if isinstance(entry, _Post):
                if statuses:
                    break  # the retry gets the next slot
                heapq.heappop(heap)
                return entry
            heapq.heappop(heap)
            statuses.append((entry.channel, entry.item))
            seqs.append(entry.seq)
        if not statuses:
            return None
        return _Post(orjson.dumps(statuses_payload(statuses, self.customers)), 1,
                     log=self.statuses, seqs=tuple(seqs))

    def _spawn(self, post: _Post) -> None:
        """POST in the background; the caller holds a slot, which the POST releases."""
        task = asyncio.create_task(self._deliver(post))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _deliver(self, post: _Post) -> None:
        assert self.transport is not None
        if post.first_at is None:
            post.first_at = self._now()
        try:
            status: int | None = await self.transport.post(post.body)
        except WebhookUnreachable:
            status = None
        except Exception:
            log.exception("webhook POST raised")
            status = None
        finally:
            self._slots.release()
        self._done(post, status)

    def _done(self, post: _Post, status: int | None) -> None:
        """Record how a POST went; schedule its retry, or give up."""
        if post.log is not None:
            post.log.attempted(post.seqs, status)
        if status is not None and 200 <= status < 300:
            self.posted += 1
            metrics.WEBHOOK_POSTS.labels("ok").inc()
            return
        self.failed_posts += 1
        metrics.WEBHOOK_POSTS.labels("failed").inc()
        delay = self._retry_delay(post)
        if delay is None:
            self.dropped += 1
            if post.log is not None:
                post.log.dropped(post.seqs)
            metrics.WEBHOOK_POSTS.labels("given_up").inc()
            metrics.DROPPED.labels("retries_exhausted").inc()
            log.warning("webhook dropped after retries", extra={"attempts": post.attempt})
            return
        post.attempt += 1
        heapq.heappush(self._heap, (self._now() + delay, next(self._seq), post))
        self._wake.set()

    def _retry_delay(self, post: _Post) -> float | None:
        """Seconds until the next attempt of a failed POST; None: give up."""
        o = self.options
        delay: float = min(o.retry_max, o.retry_base * 2 ** (post.attempt - 1))
        delay *= 0.8 + 0.4 * self._rng.random()
        if o.retry_seconds is None:
            return None if post.attempt >= o.max_attempts else delay
        assert post.first_at is not None
        left = post.first_at + o.retry_seconds - self._now()
        if left <= 0:
            return None
        return min(delay, left)  # the last attempt at the end of the budget


def backoff_schedule(options: DispatchOptions) -> list[float]:
    """The nominal waits between attempts (documentation and tests)."""
    return [min(options.retry_max, options.retry_base * 2 ** (n - 1))
            for n in range(1, options.max_attempts)]

