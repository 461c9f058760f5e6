"""The media archiver's pure rules (media/rules.py): which events carry media, the size and
type policy with the reasons agents read, and the retry schedule."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.conversation_store.media.rules import (
    DEFAULT_ALLOWED_TYPES,
    DEFAULT_MAX_BYTES,
    KB,
    MB,
    MediaPolicy,
    MediaRef,
    RetrySchedule,
    base_type,
    format_size,
    media_of,
)
from shared.events import (
    InboundMessage,
    MessageReceived,
    RetryMediaDownload,
    SetConversationStatus,
)
from shared.media_archive import ArchiveStatus

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CID = "1001:16505550123"
META = MediaPolicy.of(DEFAULT_MAX_BYTES, DEFAULT_ALLOWED_TYPES)


def received(message_type: str, content: dict[str, Any]) -> MessageReceived:
    return MessageReceived(
        occurred_at=AT, tenant_id="acme", conversation_id=CID,
        payload=InboundMessage(wamid="wamid.1", message_type=message_type, sent_at=AT,
                               business_phone_number_id="1001", from_wa_id="16505550123",
                               content=content))


class TestWhichEventsCarryMedia:
    @pytest.mark.parametrize("kind", ["image", "video", "audio", "document", "sticker"])
    def test_a_customers_media_message_with_an_id(self, kind: str) -> None:
        ref = media_of(received(kind, {"id": "555", "mime_type": "image/jpeg",
                                       "sha256": "abc=", "filename": "a.pdf"}))
        assert ref == MediaRef("acme", CID, "1001", "555", "wamid.1", kind, "image/jpeg",
                               "a.pdf", "abc=")

    @pytest.mark.parametrize(("kind", "content"), [
        ("text", {"body": "hi", "id": "555"}),
        ("location", {"latitude": 1.0, "longitude": 2.0}),
        ("image", {}),  # no id (Meta's 131052: could not download)
        ("image", {"id": ""}),
        ("image", {"id": 555}),
        ("reaction", {"message_id": "wamid.0", "emoji": "👍"}),
    ])
    def test_not_a_media_to_archive(self, kind: str, content: dict[str, Any]) -> None:
        assert media_of(received(kind, content)) is None

    def test_an_agents_retry_names_the_media(self) -> None:
        retry = RetryMediaDownload(occurred_at=AT, tenant_id="acme", conversation_id=CID,
                                   command_id="c1", business_phone_number_id="1001",
                                   media_id="555", message_wamid="wamid.1",
                                   media_type="document", mime_type="application/pdf")
        assert media_of(retry) == MediaRef("acme", CID, "1001", "555", "wamid.1", "document",
                                           "application/pdf")

    def test_other_commands_carry_none(self) -> None:
        assert media_of(SetConversationStatus(occurred_at=AT, tenant_id="acme",
                                              conversation_id=CID, command_id="c1",
                                              status="resolved")) is None


class TestTypes:
    @pytest.mark.parametrize(("declared", "base"), [
        ("audio/ogg; codecs=opus", "audio/ogg"), ("IMAGE/JPEG", "image/jpeg"), (None, ""),
        ("", ""), (" application/pdf ", "application/pdf")])
    def test_the_base_type(self, declared: str | None, base: str) -> None:
        assert base_type(declared) == base

    @pytest.mark.parametrize(("kind", "mime"), [
        ("image", "image/jpeg"), ("image", "image/png"), ("sticker", "image/webp"),
        ("audio", "audio/ogg; codecs=opus"), ("video", "video/mp4"),
        ("document", "application/pdf"), ("document", "text/plain"),
        ("document", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ])
    def test_metas_types_are_allowed_by_default(self, kind: str, mime: str) -> None:
        assert META.check_type(kind, mime) is None

    @pytest.mark.parametrize(("kind", "mime", "reason"), [
        ("document", "application/x-msdownload",
         "type application/x-msdownload is not allowed for documents"),
        ("image", "image/gif", "type image/gif is not allowed for images"),
        ("image", None, "type unknown is not allowed for images"),
        ("audio", "", "type unknown is not allowed for audio files"),
    ])
    def test_a_type_outside_the_list_is_refused_with_a_reason(
            self, kind: str, mime: str | None, reason: str) -> None:
        refusal = META.check_type(kind, mime)
        assert refusal is not None
        assert refusal.status is ArchiveStatus.DISALLOWED_TYPE
        assert refusal.reason == reason

    @pytest.mark.parametrize(("allowed", "mime", "ok"), [
        (["application/*"], "application/zip", True),
        (["application/*"], "image/png", False),
        (["*/*"], "application/x-anything", True),
        (["Image/PNG"], "image/png", True),
        ([], "image/png", False),
    ])
    def test_wildcards_in_the_setting(self, allowed: list[str], mime: str, ok: bool) -> None:
        policy = MediaPolicy.of(DEFAULT_MAX_BYTES, allowed)
        assert (policy.check_type("document", mime) is None) is ok

    @pytest.mark.parametrize(("content_type", "ok"), [
        (None, True), ("application/octet-stream", True), ("binary/octet-stream", True),
        ("image/jpeg", True), ("text/html; charset=utf-8", False)])
    def test_the_downloads_own_type_counts_when_it_names_one(self, content_type: str | None,
                                                             ok: bool) -> None:
        assert (META.check_download_type("image", content_type) is None) is ok


class TestSizes:
    @pytest.mark.parametrize(("kind", "limit"), [
        ("image", 5 * MB), ("video", 16 * MB), ("audio", 16 * MB), ("document", 100 * MB),
        ("sticker", 500 * KB), ("something_new", 100 * MB)])
    def test_metas_limits_by_default(self, kind: str, limit: int) -> None:
        assert META.limit(kind) == limit
        assert META.check_size(kind, limit) is None
        assert META.check_size(kind, limit + 1) is not None

    def test_an_unknown_size_passes_the_check(self) -> None:
        assert META.check_size("image", None) is None

    def test_too_large_says_the_size_and_the_limit(self) -> None:
        refusal = META.check_size("image", 6 * MB + 200 * KB)
        assert refusal is not None
        assert refusal.status is ArchiveStatus.TOO_LARGE
        assert refusal.reason == "too large (6.2 MB; the limit for images is 5 MB)"
        assert (refusal.size, refusal.limit) == (6 * MB + 200 * KB, 5 * MB)

    def test_a_configured_limit(self) -> None:
        policy = MediaPolicy.of({**DEFAULT_MAX_BYTES, "document": 1 * MB}, ["*/*"])
        refusal = policy.check_size("document", 2 * MB)
        assert refusal is not None
        assert refusal.reason == "too large (2 MB; the limit for documents is 1 MB)"

    @pytest.mark.parametrize(("size", "text"), [
        (80, "80 bytes"), (KB, "1 KB"), (500 * KB, "500 KB"), (1536, "1.5 KB"),
        (5 * MB, "5 MB"), (100 * MB, "100 MB")])
    def test_sizes_read_as_people_write_them(self, size: int, text: str) -> None:
        assert format_size(size) == text


class TestRetrySchedule:
    def test_gives_up_after_the_last_attempt(self) -> None:
        schedule = RetrySchedule(attempts=3, base_seconds=1.0, max_seconds=30.0)
        assert schedule.delay(1, rng=lambda: 0.0) == 0.5
        assert schedule.delay(2, rng=lambda: 0.0) == 1.0
        assert schedule.delay(3, rng=lambda: 0.0) is None

    def test_the_backoff_is_capped(self) -> None:
        schedule = RetrySchedule(attempts=20, base_seconds=1.0, max_seconds=8.0)
        assert schedule.delay(10, rng=lambda: 1.0) == 8.0

    def test_one_attempt_never_retries(self) -> None:
        assert RetrySchedule(attempts=1).delay(1) is None
