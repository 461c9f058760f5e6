from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY

from services.webhook_ingest.errors import (
    BadHandshake,
    InvalidPayload,
    NotDurable,
    SignatureInvalid,
    VerificationRefused,
)
from services.webhook_ingest.normalize import TenantLookup
from services.webhook_ingest.service import IngestService
from services.webhook_ingest.signature import sign
from shared.events import MessageReceived
from tests.unit.webhook_ingest import corpus
from tests.unit.webhook_ingest.fakes import ExplodingTenants, FakePublisher


def make_service(
    publisher: FakePublisher,
    *,
    secrets: tuple[bytes, ...] = (corpus.SECRET,),
    timeout: float = 5.0,
    tenants: TenantLookup | None = None,
    pending_capacity: int = 1000,
) -> IngestService:
    return IngestService(
        publisher=publisher,
        tenants=tenants or corpus.directory(),
        secrets=secrets,
        verify_token=corpus.VERIFY_TOKEN,
        clock=lambda: corpus.RECEIVED_AT,
        publish_timeout_seconds=timeout,
        pending_capacity=pending_capacity,
    )


def signed(name: str = "message_text") -> tuple[bytes, str]:
    body = corpus.body(name)
    return body, sign(body, corpus.SECRET)


def outcome_count(outcome: str) -> float:
    value = REGISTRY.get_sample_value("webhook_ingest_requests_total", {"outcome": outcome})
    return value or 0.0


class TestReceive:
    async def test_publishes_the_raw_body_and_its_events_together(self) -> None:
        publisher = FakePublisher()
        body, signature = signed("batch_mixed")
        receipt = await make_service(publisher).receive(body, signature)
        ((raw, events),) = publisher.published
        assert raw.body == body  # byte for byte, as Meta sent it
        assert raw.signature == signature
        assert raw.received_at == corpus.RECEIVED_AT
        assert raw.key() == corpus.WABA_ID.encode()
        assert len(events) == receipt.events == 4
        assert not receipt.already_durable

    async def test_accepts_a_body_signed_with_the_previous_secret(self) -> None:
        publisher = FakePublisher()
        body = corpus.body("message_text")
        service = make_service(publisher, secrets=(b"new-secret", corpus.SECRET))
        await service.receive(body, sign(body, corpus.SECRET))
        assert len(publisher.published) == 1

    @pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "garbage"])
    async def test_refuses_a_bad_signature_and_publishes_nothing(
        self, signature: str | None
    ) -> None:
        publisher = FakePublisher()
        before = outcome_count("bad_signature")
        with pytest.raises(SignatureInvalid):
            await make_service(publisher).receive(corpus.body("message_text"), signature)
        assert publisher.calls == 0
        assert outcome_count("bad_signature") == before + 1

    async def test_refuses_a_tampered_body(self) -> None:
        publisher = FakePublisher()
        body, signature = signed()
        with pytest.raises(SignatureInvalid):
            await make_service(publisher).receive(body.replace(b"Hi", b"Yo"), signature)
        assert publisher.calls == 0

    @pytest.mark.parametrize(
        ("body", "reason"),
        [
            (b"{not json", "not valid JSON"),
            (b"[1, 2]", "not a JSON object"),
            (b'{"object": "page", "entry": []}', "'page'"),
            (b'{"object": "whatsapp_business_account"}', "entry"),
        ],
    )
    async def test_refuses_what_is_not_a_whatsapp_payload(self, body: bytes, reason: str) -> None:
        publisher = FakePublisher()
        with pytest.raises(InvalidPayload, match=reason):
            await make_service(publisher).receive(body, sign(body, corpus.SECRET))
        assert publisher.calls == 0

    async def test_keeps_the_raw_body_even_when_normalizing_crashes(self) -> None:
        publisher = FakePublisher()
        body, signature = signed()
        receipt = await make_service(publisher, tenants=ExplodingTenants()).receive(body, signature)
        ((raw, events),) = publisher.published
        assert raw.body == body
        assert events == []
        assert receipt.events == 0


class TestDurability:
    async def test_a_broker_refusal_is_not_durable(self) -> None:
        publisher = FakePublisher()
        publisher.failure = "KafkaConnectionError: broker down"
        with pytest.raises(NotDurable, match="broker down"):
            await make_service(publisher).receive(*signed())
        publisher.failure = None
        await make_service(publisher).receive(*signed())
        assert len(publisher.published) == 1

    async def test_a_slow_broker_is_not_durable_and_the_retry_reuses_the_late_publish(
        self,
    ) -> None:
        publisher = FakePublisher()
        publisher.hold = asyncio.Event()
        service = make_service(publisher, timeout=0.05)
        with pytest.raises(NotDurable, match="did not acknowledge"):
            await service.receive(*signed())
        publisher.hold.set()  # the broker catches up after we answered 503
        await asyncio.sleep(0)
        receipt = await service.receive(*signed())
        assert receipt.already_durable
        assert publisher.calls == 1
        assert len(publisher.published) == 1

    async def test_a_retry_while_the_first_publish_is_still_running_waits_for_it(self) -> None:
        publisher = FakePublisher()
        publisher.hold = asyncio.Event()
        service = make_service(publisher, timeout=0.05)
        with pytest.raises(NotDurable):
            await service.receive(*signed())
        retry = asyncio.create_task(service.receive(*signed()))
        await asyncio.sleep(0.01)
        publisher.hold.set()
        receipt = await retry
        assert not receipt.already_durable  # it waited for, and reported, that same publish
        assert publisher.calls == 1
        assert len(publisher.published) == 1

    async def test_a_retry_after_a_late_failure_publishes_again(self) -> None:
        publisher = FakePublisher()
        publisher.hold = asyncio.Event()
        publisher.failure = "timed out in the accumulator"
        service = make_service(publisher, timeout=0.05)
        with pytest.raises(NotDurable):
            await service.receive(*signed())
        publisher.hold.set()
        await asyncio.sleep(0.01)  # the background publish fails
        publisher.failure = None
        receipt = await service.receive(*signed())
        assert not receipt.already_durable
        assert publisher.calls == 2
        assert len(publisher.published) == 1

    async def test_another_body_is_not_mistaken_for_the_pending_one(self) -> None:
        publisher = FakePublisher()
        publisher.hold = asyncio.Event()
        service = make_service(publisher, timeout=0.05)
        with pytest.raises(NotDurable):
            await service.receive(*signed("message_text"))
        publisher.hold.set()
        await asyncio.sleep(0)
        receipt = await service.receive(*signed("message_image"))
        assert not receipt.already_durable
        assert [raw.body for raw, _ in publisher.published] == [
            corpus.body("message_text"), corpus.body("message_image")]

    async def test_the_memory_of_pending_publishes_is_bounded(self) -> None:
        publisher = FakePublisher()
        publisher.hold = asyncio.Event()
        service = make_service(publisher, timeout=0.01, pending_capacity=1)
        for name in ("message_text", "message_image"):
            with pytest.raises(NotDurable):
                await service.receive(*signed(name))
        publisher.hold.set()
        await asyncio.sleep(0)
        # The oldest was forgotten: its retry publishes again (deduplicated downstream by id).
        assert not (await service.receive(*signed("message_text"))).already_durable
        assert (await service.receive(*signed("message_image"))).already_durable

    async def test_drain_waits_for_background_publishes(self) -> None:
        publisher = FakePublisher()
        publisher.hold = asyncio.Event()
        service = make_service(publisher, timeout=0.01)
        with pytest.raises(NotDurable):
            await service.receive(*signed())
        asyncio.get_running_loop().call_later(0.02, publisher.hold.set)
        await service.drain(grace_seconds=5)
        assert len(publisher.published) == 1

    async def test_retried_webhooks_produce_the_same_event_ids(self) -> None:
        publisher = FakePublisher()
        first = make_service(publisher)
        other_replica = make_service(publisher)
        await first.receive(*signed("batch_mixed"))
        await other_replica.receive(*signed("batch_mixed"))
        (_, a), (_, b) = publisher.published
        assert [e.event_id for e in a] == [e.event_id for e in b]
        assert isinstance(a[0], MessageReceived)


class TestHandshake:
    def test_echoes_the_challenge_for_our_token(self) -> None:
        service = make_service(FakePublisher())
        assert service.handshake("subscribe", corpus.VERIFY_TOKEN, "1158201444") == "1158201444"

    @pytest.mark.parametrize(
        ("mode", "token"),
        [("subscribe", "wrong"), ("unsubscribe", corpus.VERIFY_TOKEN), (None, None),
         ("subscribe", None), ("subscribe", corpus.VERIFY_TOKEN + "x")],
    )
    def test_refuses_a_wrong_mode_or_token(self, mode: str | None, token: str | None) -> None:
        with pytest.raises(VerificationRefused):
            make_service(FakePublisher()).handshake(mode, token, "123")

    def test_needs_a_challenge(self) -> None:
        with pytest.raises(BadHandshake):
            make_service(FakePublisher()).handshake("subscribe", corpus.VERIFY_TOKEN, None)
