"""The httpx adapter: every answer and transport failure becomes the right answer value."""

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from services.outbound_sender.adapters.cloud_api import HttpCloudApi, parse_answer
from services.outbound_sender.cloud import Accepted, InDoubt, NotSent, Rejected
from tests.unit.outbound_sender.fakes import accepted, channel, meta_error

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def api(handler) -> HttpCloudApi:
    return HttpCloudApi("https://graph.example/v25.0", [httpx.MockTransport(handler)],
                        lambda: NOW, connections_per_transport=16, timeout=httpx.Timeout(5))


class TestAnswers:
    async def test_posts_to_the_numbers_messages_with_its_token(self):
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return accepted("wamid.1")

        answer = await api(handler).post_message(channel(), {"type": "text"})
        assert answer == Accepted("wamid.1")
        assert seen[0].url.path == "/v25.0/106540352242922/messages"
        assert seen[0].headers["authorization"] == "Bearer token-1"

    def test_template_pacing_status_is_kept(self):
        body = b'{"messages":[{"id":"wamid.2","message_status":"held_for_quality_assessment"}]}'
        assert parse_answer(200, body, None, NOW) == Accepted(
            "wamid.2", "held_for_quality_assessment")

    def test_read_receipt_success(self):
        assert parse_answer(200, b'{"success":true}', None, NOW) == Accepted(None)

    def test_success_without_a_message_id_is_in_doubt(self):
        assert isinstance(parse_answer(200, b'{"weird":1}', None, NOW), InDoubt)

    def test_meta_error_keeps_code_title_and_details(self):
        response = meta_error(131047, details="Message failed to send because more than 24 hours",
                              message="(#131047) Re-engagement message")
        answer = parse_answer(400, response.content, None, NOW)
        assert isinstance(answer, Rejected)
        assert answer.error is not None
        assert (answer.error.code, answer.error.title) == (131047, "Re-engagement message")
        assert (answer.error.details or "").startswith("Message failed")

    def test_retry_after_header(self):
        response = meta_error(130429, status=429, headers={"Retry-After": "3"})
        answer = parse_answer(429, response.content, response.headers.get("retry-after"), NOW)
        assert isinstance(answer, Rejected)
        assert answer.retry_after_seconds == 3.0

    def test_http_error_without_envelope(self):
        answer = parse_answer(502, b"<html>bad gateway</html>", None, NOW)
        assert answer == Rejected(502, None, None)


class TestTransportFailures:
    @pytest.mark.parametrize("error", [httpx.ConnectError("refused"),
                                       httpx.ConnectTimeout("slow"), httpx.PoolTimeout("full")])
    async def test_no_connection_means_not_sent(self, error):
        def handler(request: httpx.Request) -> httpx.Response:
            raise error

        assert isinstance(await api(handler).post_message(channel(), {}), NotSent)

    @pytest.mark.parametrize("error", [httpx.ReadTimeout("late"), httpx.RemoteProtocolError("x"),
                                       httpx.ReadError("reset"), httpx.WriteTimeout("w")])
    async def test_failure_after_the_request_left_is_in_doubt(self, error):
        def handler(request: httpx.Request) -> httpx.Response:
            raise error

        assert isinstance(await api(handler).post_message(channel(), {}), InDoubt)


class TestPools:
    async def test_fills_the_first_pool_before_opening_the_next(self):
        release = asyncio.Event()
        seen: list[str] = []

        def handler(name: str):
            async def handle(request: httpx.Request) -> httpx.Response:
                seen.append(name)
                await release.wait()
                return accepted("wamid.x")
            return handle

        cloud = HttpCloudApi("https://graph.example/v25.0",
                             [httpx.MockTransport(handler("first")),
                              httpx.MockTransport(handler("second"))],
                             lambda: NOW, connections_per_transport=2, timeout=httpx.Timeout(5))
        calls = [asyncio.create_task(cloud.post_message(channel(), {})) for _ in range(3)]
        while len(seen) < 3:  # noqa: ASYNC110 - polling the effect under test
            await asyncio.sleep(0)
        assert seen == ["first", "first", "second"]
        release.set()
        assert all(isinstance(a, Accepted) for a in await asyncio.gather(*calls))
