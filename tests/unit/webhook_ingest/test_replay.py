from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.webhook_ingest.replay import StartAt, build_parser


class TestStartAt:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("earliest", StartAt()),
            ("beginning", StartAt()),
            ("1200", StartAt(offset=1200)),
            ("2025-06-16T00:00:00Z", StartAt(time=datetime(2025, 6, 16, tzinfo=UTC))),
            ("2025-06-16T02:30:00+02:00", StartAt(time=datetime(2025, 6, 16, 0, 30, tzinfo=UTC))),
        ],
    )
    def test_reads_earliest_an_offset_or_an_aware_time(self, text: str, expected: StartAt) -> None:
        assert StartAt.parse(text) == expected

    @pytest.mark.parametrize("text", ["yesterday", "-5", "2025-06-16T00:00:00", ""])
    def test_refuses_anything_else(self, text: str) -> None:
        with pytest.raises(ValueError, match="--from"):
            StartAt.parse(text)


class TestCommandLine:
    def test_needs_a_start(self) -> None:
        with pytest.raises(SystemExit) as exit_info:
            build_parser().parse_args([])
        assert exit_info.value.code == 2

    def test_refuses_a_bad_start_before_touching_anything(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with pytest.raises(SystemExit):
            build_parser().parse_args(["--from", "yesterday"])
        assert "--from" in capsys.readouterr().err

    def test_reads_every_option(self) -> None:
        args = build_parser().parse_args(
            ["--from", "42", "--until", "2025-06-16T00:00:00Z", "--id-salt", "fix-7", "--dry-run"]
        )
        assert args.start == StartAt(offset=42)
        assert args.until == datetime(2025, 6, 16, tzinfo=UTC)
        assert (args.id_salt, args.dry_run) == ("fix-7", True)
