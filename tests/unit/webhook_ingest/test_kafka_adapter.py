from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from services.webhook_ingest.adapters.kafka import all_acknowledged
from services.webhook_ingest.errors import PublishFailed
from services.webhook_ingest.ports import RawWebhook


class TestAllAcknowledged:
    async def test_resolves_once_every_record_is_acknowledged(self) -> None:
        loop = asyncio.get_running_loop()
        acks = [loop.create_future() for _ in range(3)]
        done = all_acknowledged(acks)
        acks[0].set_result(object())
        acks[2].set_result(object())
        await asyncio.sleep(0)
        assert not done.done()
        acks[1].set_result(object())
        await done

    async def test_fails_at_the_first_refusal(self) -> None:
        loop = asyncio.get_running_loop()
        acks = [loop.create_future() for _ in range(2)]
        done = all_acknowledged(acks)
        acks[1].set_exception(RuntimeError("NotEnoughReplicas"))
        with pytest.raises(PublishFailed, match="NotEnoughReplicas"):
            await done
        acks[0].set_exception(RuntimeError("late"))  # ignored, and not warned about
        await asyncio.sleep(0)

    async def test_nothing_to_wait_for_is_done(self) -> None:
        await all_acknowledged([])


class TestRawWebhook:
    def test_record_key_and_headers(self) -> None:
        at = datetime(2025, 6, 16, 12, 0, 1, tzinfo=UTC)
        raw = RawWebhook(b"{}", "sha256=ab", at, "102290129340398")
        assert raw.key() == b"102290129340398"
        assert raw.headers() == [("x-hub-signature-256", b"sha256=ab"),
                                 ("received-at", b"2025-06-16T12:00:01+00:00")]
        assert RawWebhook(b"{}", "s", at, None).key() == b"unknown"
