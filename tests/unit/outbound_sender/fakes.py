"""Hand-written fakes of the sender's ports, a scripted Cloud API (httpx.MockTransport), and a
virtual clock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from services.outbound_sender.adapters.cloud_api import HttpCloudApi
from services.outbound_sender.ledger import Claim, LedgerView, Outcome, RetryMark
from services.outbound_sender.ports import StoredWindow
from services.outbound_sender.rate import Pacers
from services.outbound_sender.retry import RetryPolicy
from services.outbound_sender.service import SendConfig, SendService
from shared.channels import Channel
from shared.events import OUTBOUND_EVENTS, SendTemplate, SendText

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NUMBER = "106540352242922"
WABA = "waba-1"
TENANT = "acme"
CUSTOMER = "5511987654321"
CID = f"{NUMBER}:{CUSTOMER}"


class FakeTime:
    """Wall and monotonic time that move only when told, or when someone sleeps."""

    def __init__(self, start: datetime = T0) -> None:
        self.wall = start
        self.mono = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.mono += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)


class FakeLedger:
    """The ledger's semantics over dicts: inserts only, a unique ``_id`` decides."""

    def __init__(self) -> None:
        self.docs: dict[tuple[str, str], Any] = {}
        self.fail_next_claim_after_insert = False  # the write lands, the answer is lost

    def _insert(self, collection: str, doc_id: str, value: Any) -> bool:
        if (collection, doc_id) in self.docs:
            return False
        self.docs[(collection, doc_id)] = value
        return True

    async def claim(self, claim: Claim) -> bool:
        place = ("attempts", claim.key) if claim.attempt == 1 else (
            "retries", f"a{claim.attempt}:{claim.key}")
        inserted = self._insert(*place, claim)
        if self.fail_next_claim_after_insert:
            self.fail_next_claim_after_insert = False
            raise ConnectionError("the answer to the insert was lost")
        return inserted or self.docs[place].claim_id == claim.claim_id

    async def record_retry(self, mark: RetryMark) -> None:
        self._insert("retries", f"r{mark.attempt}:{mark.key}", mark)

    async def record_outcome(self, outcome: Outcome) -> Outcome:
        if self._insert("outcomes", outcome.key, outcome):
            return outcome
        stored: Outcome = self.docs[("outcomes", outcome.key)]
        return stored

    async def view(self, key: str) -> LedgerView:
        claim: Claim | None = self.docs.get(("attempts", key))
        if claim is None:
            return LedgerView()
        if claim.outcome is not None:
            return LedgerView(claim=claim)
        outcome = self.docs.get(("outcomes", key))
        if outcome is not None:
            return LedgerView(claim=claim, outcome=outcome)
        latest = claim
        while (nxt := self.docs.get(("retries", f"a{latest.attempt + 1}:{key}"))) is not None:
            latest = nxt
        retry = self.docs.get(("retries", f"r{latest.attempt}:{key}"))
        return LedgerView(claim=claim, latest=latest, retry=retry)


class FakeChannels:
    def __init__(self, *channels: Channel) -> None:
        self.channels = {c.phone_number_id: c for c in channels}

    async def find(self, phone_number_id: str) -> Channel | None:
        return self.channels.get(phone_number_id)


class FakeWindows:
    def __init__(self) -> None:
        self.last: dict[str, datetime] = {}
        self.closed: dict[str, datetime] = {}  # when Meta last said 131047
        self.reads = 0

    async def window(self, conversation_id: str) -> StoredWindow:
        self.reads += 1
        return StoredWindow(self.last.get(conversation_id), self.closed.get(conversation_id))


class FakeTemplates:
    def __init__(self, statuses: dict[tuple[str, str, str], str] | None = None) -> None:
        self.statuses = statuses or {}

    async def status(self, waba_id: str, name: str, language: str) -> str | None:
        return self.statuses.get((waba_id, name, language))


class FakeCatchUp:
    """The store catch-up check; ``on_wait`` plays what the store folds meanwhile."""

    def __init__(self, caught_up: bool = True,
                 on_wait: Callable[[str], None] | None = None) -> None:
        self.caught_up = caught_up
        self.on_wait = on_wait
        self.waits: list[str] = []

    async def wait(self, conversation_id: str, timeout: float) -> bool:
        self.waits.append(conversation_id)
        if self.on_wait is not None:
            self.on_wait(conversation_id)
        return self.caught_up


class FakePublisher:
    def __init__(self) -> None:
        self.records: list[tuple[bytes, bytes]] = []

    async def publish(self, key: bytes, value: bytes) -> None:
        self.records.append((key, value))

    @property
    def events(self) -> list[Any]:
        return [OUTBOUND_EVENTS.validate_json(value) for _, value in self.records]

    @property
    def types(self) -> list[str]:
        return [e.type for e in self.events]


Reply = httpx.Response | Exception


@dataclass
class ScriptedMeta:
    """A Cloud API that answers from a script (then accepts everything), recording requests."""

    script: list[Reply] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    wamids: int = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.script:
            reply = self.script.pop(0)
            if isinstance(reply, Exception):
                raise reply
            return reply
        self.wamids += 1
        return accepted(f"wamid.{self.wamids}")

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


def accepted(wamid: str) -> httpx.Response:
    return httpx.Response(200, json={
        "messaging_product": "whatsapp",
        "contacts": [{"input": f"+{CUSTOMER}", "wa_id": CUSTOMER}],
        "messages": [{"id": wamid}]})


def meta_error(code: int, status: int = 400, details: str = "details",
               message: str | None = None, headers: dict[str, str] | None = None
               ) -> httpx.Response:
    return httpx.Response(status, headers=headers, json={"error": {
        "message": message or f"(#{code}) Meta says no", "type": "OAuthException", "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details},
        "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam"}})


def channel(number: str = NUMBER, tenant: str = TENANT, mps: int = 80) -> Channel:
    return Channel(phone_number_id=number, tenant_id=tenant, waba_id=WABA,
                   access_token="token-1", throughput_mps=mps)


def text(command_id: str = "cmd-1", *, cid: str = CID, number: str = NUMBER,
         customer: str = CUSTOMER, tenant: str = TENANT, body: str = "hello",
         priority: str = "reply", t: datetime = T0) -> SendText:
    return SendText(occurred_at=t, tenant_id=tenant, conversation_id=cid, command_id=command_id,
                    business_phone_number_id=number, customer_wa_id=customer, text=body,
                    priority=priority)


def template(command_id: str = "tpl-1", *, name: str = "welcome", language: str = "en_US",
             t: datetime = T0) -> SendTemplate:
    return SendTemplate(occurred_at=t, tenant_id=TENANT, conversation_id=CID,
                        command_id=command_id, business_phone_number_id=NUMBER,
                        customer_wa_id=CUSTOMER, template_name=name, language=language,
                        rendered_text="Welcome!")


@dataclass
class Rig:
    """A SendService over fakes, with the scripted Cloud API behind the real httpx adapter."""

    time: FakeTime = field(default_factory=FakeTime)
    meta: ScriptedMeta = field(default_factory=ScriptedMeta)
    ledger: FakeLedger = field(default_factory=FakeLedger)
    channels: FakeChannels = field(default_factory=lambda: FakeChannels(channel()))
    windows: FakeWindows = field(default_factory=FakeWindows)
    templates: FakeTemplates = field(default_factory=lambda: FakeTemplates(
        {(WABA, "welcome", "en_US"): "APPROVED", (WABA, "promo", "en_US"): "PAUSED"}))
    catch_up: FakeCatchUp = field(default_factory=FakeCatchUp)
    publisher: FakePublisher = field(default_factory=FakePublisher)
    owner: str = "replica-a"
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    pacers: Pacers | None = None

    def service(self, handler: Any = None) -> SendService:
        cloud = HttpCloudApi("https://graph.example/v25.0",
                             [httpx.MockTransport(handler or self.meta.handler)], self.time.now,
                             connections_per_transport=16, timeout=httpx.Timeout(10))
        if self.pacers is None:
            self.pacers = Pacers(1.0, self.time.monotonic, self.time.sleep)
        return SendService(
            channels=self.channels, windows=self.windows, templates=self.templates,
            catch_up=self.catch_up, ledger=self.ledger, cloud=cloud,
            pacers=self.pacers, publisher=self.publisher,
            config=SendConfig(owner=self.owner, call_deadline_seconds=10,
                              lease_margin_seconds=5, retry=self.retry),
            clock=self.time.now, sleep=self.time.sleep, rng=lambda: 0.5)

    def customer_wrote(self, seconds_ago: float, cid: str = CID) -> None:
        self.windows.last[cid] = self.time.now() - timedelta(seconds=seconds_ago)
