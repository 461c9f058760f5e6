"""The use cases: answer Meta's verification handshake; make one webhook durable, or say why not.

A webhook is acknowledged (200) only after Kafka acknowledged its raw body and every event
derived from it. When that takes longer than the deadline the answer is 503 and Meta retries; the
publish itself keeps going in the background, and a retry of the same body within the service's
memory waits for (or reuses) it instead of publishing a second copy. Event ids are deterministic,
so any copy that does get published twice (a retry reaching another replica) is deduplicated
downstream.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from services.webhook_ingest import metrics
from services.webhook_ingest.conversations import (
    Repoint,
    apply_repoints,
    resolve_conversations,
)
from services.webhook_ingest.errors import (
    BadHandshake,
    InvalidPayload,
    NotDurable,
    PublishFailed,
    SignatureInvalid,
    VerificationRefused,
)
from services.webhook_ingest.normalize import TenantLookup, normalize
from services.webhook_ingest.payload import first_waba_id, parse_webhook
from services.webhook_ingest.ports import ContactResolver, RawWebhook
from services.webhook_ingest.signature import Verifier
from shared.channels import UNASSIGNED_TENANT
from shared.events.base import Event

log = logging.getLogger(__name__)

_WARNED_LIMIT = 10_000


class WebhookPublisher(Protocol):
    """Where verified webhooks go: the raw body and its events, acknowledged together."""

    async def send(self, raw: RawWebhook, events: Sequence[Event]) -> asyncio.Future[None]:
        """Hand over every record; the future resolves once all are durable.

        Raises, or fails the future with, ``PublishFailed`` when the broker refuses.
        """
        ...

    async def is_ready(self) -> bool:
        """True while the broker is reachable."""
        ...


@dataclass(frozen=True, slots=True)
class Receipt:
    """What happened to an accepted webhook."""

    events: int
    # A retry whose earlier attempt had become durable after we answered it 503.
    already_durable: bool = False


class IngestService:
    """Verifies, normalizes and durably publishes webhooks; answers the verification handshake."""

    def __init__(
        self,
        *,
        publisher: WebhookPublisher,
        tenants: TenantLookup,
        secrets: Sequence[bytes],
        verify_token: str,
        clock: Callable[[], datetime],
        publish_timeout_seconds: float,
        pending_capacity: int = 1000,
        contacts: ContactResolver | None = None,
    ) -> None:
        if not secrets:
            raise ValueError("at least one app secret is required")
        self.publisher = publisher
        self._tenants = tenants
        # None: conversation ids stay the derived ones (number, else BSUID); main wires the
        # directory so that a customer named by number, BSUID or both keeps one conversation.
        self._contacts = contacts
        self._verify = Verifier(secrets)
        self._verify_token = verify_token.encode()
        self._clock = clock
        self._timeout = publish_timeout_seconds
        self._capacity = pending_capacity
        # body digest -> publish task, for requests answered 503 while the publish went on.
        self._pending: OrderedDict[bytes, asyncio.Future[None]] = OrderedDict()
        self._warned_unassigned: set[tuple[str, str]] = set()
        self._event_counters: dict[str, Any] = {}

    def handshake(self, mode: str | None, token: str | None, challenge: str | None) -> str:
        """The challenge to echo when Meta verifies the callback URL with our verify token."""
        if mode != "subscribe" or token is None or not hmac.compare_digest(
            token.encode(), self._verify_token
        ):
            metrics.REQUESTS.labels("handshake_refused").inc()
            raise VerificationRefused("hub.mode must be subscribe and hub.verify_token must match")
        if not challenge:
            metrics.REQUESTS.labels("handshake_refused").inc()
            raise BadHandshake("hub.challenge is missing")
        metrics.REQUESTS.labels("handshake_ok").inc()
        return challenge

    async def receive(self, body: bytes, signature: str | None) -> Receipt:
        """Verify, normalize and publish one webhook body; return once it is durable."""
        if signature is None or not self._verify(body, signature):
            metrics.REQUESTS.labels("bad_signature").inc()
            raise SignatureInvalid("X-Hub-Signature-256 is missing or does not match the body")
        try:
            payload = parse_webhook(body)
        except InvalidPayload:
            metrics.REQUESTS.labels("invalid_payload").inc()
            raise
        received_at = self._clock()
        events = self._normalize(payload, received_at)
        repoints: list[Repoint] = []
        if self._contacts is not None and events:
            events = await self._resolve(events, repoints)
        raw = RawWebhook(body, signature, received_at, first_waba_id(payload))
        started = time.perf_counter()
        try:
            already_durable = await self._publish(raw, events)
        except NotDurable:
            metrics.REQUESTS.labels("not_durable").inc()
            raise
        metrics.PUBLISH_SECONDS.observe(time.perf_counter() - started)
        if repoints:
            await self._repoint(repoints)
        if already_durable:
            metrics.REQUESTS.labels("already_durable").inc()
        else:
            metrics.ACCEPTED.inc()
            self._count(events)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("webhook accepted", extra={"events": len(events), "waba_id": raw.waba_id})
        return Receipt(events=len(events), already_durable=already_durable)

    def _normalize(self, payload: dict[str, Any], received_at: datetime) -> list[Event]:
        try:
            normalized = normalize(payload, self._tenants, received_at)
        except Exception:
            # normalize isolates each change, so this is a bug in its skeleton. The raw body is
            # still published and acknowledged: nothing is lost, and replay re-derives the events
            # once the parser is fixed. Answering 5xx instead would only make Meta resend a body
            # that fails the same way, for 7 days.
            metrics.PARSE_FAILURES.labels("payload").inc()
            log.exception("webhook could not be normalized; keeping its raw body only")
            return []
        if normalized.anonymous:
            metrics.ANONYMOUS.inc(normalized.anonymous)
            log.warning("messages or statuses with neither a number nor a BSUID kept as "
                        "webhook.unhandled", extra={"count": normalized.anonymous})
        for name in normalized.malformed:
            metrics.MALFORMED_ITEMS.labels(name).inc()
        for name in normalized.failures:
            metrics.PARSE_FAILURES.labels(name).inc()
            log.error("webhook change kept unparsed as webhook.unhandled", extra={"field": name})
        for kind, ident in normalized.unassigned:
            if (kind, ident) not in self._warned_unassigned:
                if len(self._warned_unassigned) < _WARNED_LIMIT:
                    self._warned_unassigned.add((kind, ident))
                log.warning("no tenant for this business %s; publishing as unassigned", kind,
                            extra={"kind": kind, "id": ident})
        return normalized.events

    async def _repoint(self, repoints: list[Repoint]) -> None:
        """Move the aliases of the merges just published. Best effort: the webhook is durable
        either way, and an alias left as it was makes the next event naming both merge again."""
        assert self._contacts is not None
        try:
            async with asyncio.timeout(self._timeout):
                await apply_repoints(self._contacts, repoints)
        except Exception as exc:
            log.warning("contact aliases not moved after a merge; the next event merges again",
                        extra={"error": f"{type(exc).__name__}: {str(exc)[:200]}"})

    async def _resolve(self, events: list[Event], repoints: list[Repoint]) -> list[Event]:
        assert self._contacts is not None
        try:
            async with asyncio.timeout(self._timeout):
                return await resolve_conversations(events, self._contacts, repoints)
        except Exception as exc:
            # MongoDB did not answer a cache miss: without the directory the events would go to
            # a second conversation, so Meta is asked to retry instead (nothing was published).
            metrics.REQUESTS.labels("not_durable").inc()
            log.warning("contact directory unavailable; answering 503",
                        extra={"error": f"{type(exc).__name__}: {str(exc)[:200]}"})
            raise NotDurable(
                f"the contact directory is unavailable ({type(exc).__name__}); retry later"
            ) from exc

    async def _publish(self, raw: RawWebhook, events: list[Event]) -> bool:
        digest: bytes | None = None
        acks: asyncio.Future[None] | None = None
        if self._pending:
            digest = hashlib.sha256(raw.body).digest()
            earlier = self._pending.get(digest)
            if earlier is not None:
                if not earlier.done():
                    acks = earlier
                elif not earlier.cancelled() and earlier.exception() is None:
                    return True
                else:
                    self._forget(digest)
        try:
            async with asyncio.timeout(self._timeout):
                if acks is None:
                    acks = await self.publisher.send(raw, events)
                # Shielded: a timeout must not cancel the records already handed over.
                await asyncio.shield(acks)
        except TimeoutError:
            if acks is not None:
                self._remember(digest or hashlib.sha256(raw.body).digest(), acks)
            raise NotDurable(
                f"Kafka did not acknowledge within {self._timeout:g}s; retry later"
            ) from None
        except PublishFailed as exc:
            if digest is not None:
                self._forget(digest)
            raise NotDurable(f"Kafka did not accept the webhook: {exc}") from exc
        return False

    def _remember(self, digest: bytes, acks: asyncio.Future[None]) -> None:
        if digest not in self._pending:
            acks.add_done_callback(_retrieve)
        if self._capacity == 0:
            return
        self._pending[digest] = acks
        self._pending.move_to_end(digest)
        while len(self._pending) > self._capacity:
            self._pending.popitem(last=False)
        metrics.PENDING.set(len(self._pending))

    def _forget(self, digest: bytes) -> None:
        self._pending.pop(digest, None)
        metrics.PENDING.set(len(self._pending))

    def _count(self, events: list[Event]) -> None:
        for event in events:
            kind: str = getattr(event, "type", type(event).__name__)
            counter = self._event_counters.get(kind)
            if counter is None:
                counter = self._event_counters[kind] = metrics.EVENTS.labels(kind)
            counter.inc()
            if event.tenant_id == UNASSIGNED_TENANT:
                metrics.UNASSIGNED.labels(kind).inc()

    async def drain(self, grace_seconds: float) -> None:
        """Wait (up to the grace) for publishes still running after their request timed out."""
        running = [acks for acks in self._pending.values() if not acks.done()]
        if running:
            log.info("waiting for publishes still in flight", extra={"count": len(running)})
            await asyncio.wait(running, timeout=grace_seconds)


def _retrieve(acks: asyncio.Future[None]) -> None:
    """Read a background publish's outcome so a late failure is logged, not warned about."""
    if not acks.cancelled() and (exc := acks.exception()) is not None:
        log.warning("a timed-out publish failed in the background; Meta's retry publishes again",
                    extra={"error": str(exc)[:300]})
