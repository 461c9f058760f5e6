"""The HTTP surface through httpx.ASGITransport, with the service wired to a fake publisher."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, MutableMapping
from typing import Any

import httpx
import orjson
import pytest

from services.webhook_ingest.main import create_app
from services.webhook_ingest.routers.webhook import WebhookEndpoint
from services.webhook_ingest.settings import WebhookIngestSettings
from services.webhook_ingest.signature import sign
from tests.unit.webhook_ingest import corpus
from tests.unit.webhook_ingest.fakes import FakePublisher, WithState
from tests.unit.webhook_ingest.test_service import make_service

LIMIT = 4096


def app_with(publisher: FakePublisher, timeout: float = 5.0) -> WithState:
    settings = WebhookIngestSettings(
        app_secrets="rotated-out-secret," + corpus.SECRET.decode(),
        verify_token=corpus.VERIFY_TOKEN,
        max_body_bytes=LIMIT,
    )
    service = make_service(publisher, secrets=settings.secrets(), timeout=timeout)
    return WithState(create_app(settings), {"service": service})


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


@pytest.fixture
async def client(publisher: FakePublisher) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app_with(publisher, timeout=0.05))
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as http:
        yield http


def post(http: httpx.AsyncClient, body: bytes, signature: str | None = None, **kw: object):
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["x-hub-signature-256"] = signature
    return http.post("/webhook", content=body, headers=headers, **kw)  # type: ignore[arg-type]


class TestHandshake:
    async def test_answers_the_challenge_as_plain_text(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/webhook", params={
            "hub.mode": "subscribe", "hub.verify_token": corpus.VERIFY_TOKEN,
            "hub.challenge": "1158201444"})
        assert response.status_code == 200
        assert response.text == "1158201444"
        assert response.headers["content-type"].startswith("text/plain")

    async def test_a_wrong_token_is_403(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/webhook", params={
            "hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"})
        assert response.status_code == 403
        assert response.json()["error"] == "verification_refused"

    async def test_no_parameters_is_403(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/webhook")).status_code == 403


class TestPost:
    async def test_a_signed_webhook_is_200_once_published(
        self, client: httpx.AsyncClient, publisher: FakePublisher
    ) -> None:
        body = corpus.body("batch_mixed")
        response = await post(client, body, sign(body, corpus.SECRET))
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "events": 4}
        assert publisher.published[0][0].body == body

    async def test_a_bad_signature_is_401_with_a_json_error(
        self, client: httpx.AsyncClient, publisher: FakePublisher
    ) -> None:
        body = corpus.body("message_text")
        response = await post(client, body, sign(body, b"not-our-secret"))
        assert response.status_code == 401
        assert response.json() == {
            "error": "signature_invalid",
            "detail": "X-Hub-Signature-256 is missing or does not match the body",
        }
        assert publisher.calls == 0

    async def test_a_missing_signature_is_401(self, client: httpx.AsyncClient) -> None:
        assert (await post(client, corpus.body("message_text"))).status_code == 401

    async def test_malformed_json_is_400_with_the_reason(
        self, client: httpx.AsyncClient, publisher: FakePublisher
    ) -> None:
        body = b'{"object": "whatsapp_business_account", "entry": [}'
        response = await post(client, body, sign(body, corpus.SECRET))
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_payload"
        assert "not valid JSON" in response.json()["detail"]
        assert publisher.calls == 0

    async def test_a_declared_oversized_body_is_413(
        self, client: httpx.AsyncClient, publisher: FakePublisher
    ) -> None:
        body = b'{"object":"whatsapp_business_account","entry":[],"pad":"' + b"x" * LIMIT + b'"}'
        response = await post(client, body, sign(body, corpus.SECRET))
        assert response.status_code == 413
        assert response.json()["error"] == "payload_too_large"
        assert publisher.calls == 0

    async def test_a_streamed_oversized_body_is_413(
        self, client: httpx.AsyncClient, publisher: FakePublisher
    ) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(10):
                yield b"x" * 1000

        response = await client.post("/webhook", content=chunks(),
                                     headers={"x-hub-signature-256": "sha256=" + "0" * 64,
                                              "content-type": "application/json"})
        assert "content-length" not in response.request.headers
        assert response.status_code == 413
        assert publisher.calls == 0

    async def test_a_body_at_the_limit_is_read(self, client: httpx.AsyncClient) -> None:
        body = b"x" * LIMIT
        response = await post(client, body, sign(body, corpus.SECRET))
        assert response.status_code == 400  # read whole, then refused as not JSON

    @pytest.mark.parametrize("content_type", [
        "text/plain", "application/x-www-form-urlencoded", "application/jsonp", None])
    async def test_a_non_json_content_type_is_415_before_the_body_is_read(
        self, client: httpx.AsyncClient, publisher: FakePublisher, content_type: str | None
    ) -> None:
        body = corpus.body("message_text")
        headers = {"x-hub-signature-256": sign(body, corpus.SECRET)}
        if content_type is not None:
            headers["content-type"] = content_type
        response = await client.post("/webhook", content=body, headers=headers)
        assert response.status_code == 415
        assert response.json()["error"] == "unsupported_media_type"
        assert "application/json" in response.json()["detail"]
        assert publisher.calls == 0
        text = (await client.get("/metrics")).text
        assert 'webhook_ingest_requests_total{outcome="unsupported_media_type"}' in text

    @pytest.mark.parametrize("content_type", [
        "application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8"])
    async def test_json_with_or_without_a_charset_is_accepted(
        self, client: httpx.AsyncClient, content_type: str
    ) -> None:
        body = corpus.body("message_text")
        response = await client.post("/webhook", content=body, headers={
            "x-hub-signature-256": sign(body, corpus.SECRET), "content-type": content_type})
        assert response.status_code == 200

    async def test_an_unavailable_broker_is_503(
        self, client: httpx.AsyncClient, publisher: FakePublisher
    ) -> None:
        publisher.failure = "KafkaConnectionError"
        body = corpus.body("message_text")
        response = await post(client, body, sign(body, corpus.SECRET))
        assert response.status_code == 503
        assert response.json()["error"] == "not_durable"


class TestOps:
    async def test_healthz_answers(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/healthz")).json() == {"status": "ok"}

    async def test_other_methods_on_the_webhook_path_are_405(
        self, client: httpx.AsyncClient
    ) -> None:
        assert (await client.put("/webhook", content=b"{}")).status_code == 405

    async def test_not_ready_before_the_producer_started(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/readyz")).status_code == 503

    async def test_metrics_count_outcomes(self, client: httpx.AsyncClient) -> None:
        body = corpus.body("message_text")
        await post(client, body, sign(body, corpus.SECRET))
        text = (await client.get("/metrics")).text
        assert 'webhook_ingest_requests_total{outcome="accepted"}' in text
        assert 'webhook_ingest_events_total{type="message.received"}' in text


class TestEndpointEdges:
    """The bare ASGI endpoint driven directly, for what an HTTP client cannot easily do."""

    @staticmethod
    def scope(service: object) -> dict[str, object]:
        return {"type": "http", "method": "POST", "path": "/webhook",
                "headers": [(b"x-hub-signature-256", b"sha256=" + b"0" * 64),
                            (b"content-type", b"application/json")],
                "state": {"service": service}}

    async def test_a_client_gone_mid_body_gets_no_answer_and_nothing_is_published(
        self, publisher: FakePublisher
    ) -> None:
        messages: Iterator[dict[str, Any]] = iter([
            {"type": "http.request", "body": b"{", "more_body": True},
            {"type": "http.disconnect"},
        ])
        sent: list[object] = []

        async def receive() -> dict[str, Any]:
            return next(messages)

        async def send(message: object) -> None:
            sent.append(message)

        await WebhookEndpoint(LIMIT)(self.scope(make_service(publisher)), receive, send)
        assert sent == []
        assert publisher.calls == 0

    async def test_an_unexpected_error_is_a_json_500(self) -> None:
        class Broken:
            async def receive(self, body: bytes, signature: str | None) -> None:
                raise RuntimeError("bug")

        sent: list[MutableMapping[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"{}", "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(message)

        await WebhookEndpoint(LIMIT)(self.scope(Broken()), receive, send)
        assert sent[0]["status"] == 500
        assert orjson.loads(sent[1]["body"]) == {
            "error": "internal_error", "detail": "RuntimeError"}
