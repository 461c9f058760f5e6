from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.inbox_api.campaigns.report import Totals, csv_lines, reply_at, row_of

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def recipient(state: str = "released", **extra: Any) -> dict[str, Any]:
    return {"row": 2, "wa_id": "4915123456789", "conversation_id": "p:4915123456789",
            "state": state, "command_id": "c1", **extra}


def message(status: str, *steps: str, error: dict[str, Any] | None = None) -> dict[str, Any]:
    statuses = [{"status": s, "at": T0 + timedelta(minutes=i)} for i, s in enumerate(steps)]
    return {"_id": "p:4915123456789/cmd:c1", "status": status, "statuses": statuses,
            "error": error}


class TestReplyAttribution:
    def test_first_inbound_within_24h_is_the_reply(self) -> None:
        assert reply_at(T0, [T0 - timedelta(hours=1), T0 + timedelta(hours=2),
                             T0 + timedelta(hours=3)]) == T0 + timedelta(hours=2)

    def test_after_24h_it_is_not_a_reply(self) -> None:
        assert reply_at(T0, [T0 + timedelta(hours=25)]) is None

    def test_a_later_campaign_message_takes_the_reply(self) -> None:
        later = T0 + timedelta(hours=1)
        assert reply_at(T0, [T0 + timedelta(hours=2)], [later]) is None
        assert reply_at(later, [T0 + timedelta(hours=2)], []) == T0 + timedelta(hours=2)


class TestRows:
    def test_statuses_map_to_the_report(self) -> None:
        assert row_of(recipient("queued"), None).status == "queued"
        assert row_of(recipient("skipped", reason="opted_out"), None).reason == "opted_out"
        assert row_of(recipient(), None).status == "pending"
        read = row_of(recipient(), message("read", "accepted", "sent", "delivered", "read"))
        assert (read.status, read.sent_at, read.read_at) == ("read", T0,
                                                             T0 + timedelta(minutes=3))

    def test_reply_after_delivery_is_replied(self) -> None:
        row = row_of(recipient(), message("delivered", "accepted", "delivered"),
                     [T0 + timedelta(minutes=5)])
        assert row.status == "replied"
        assert row.replied_at == T0 + timedelta(minutes=5)

    def test_failed_carries_meta_code_and_its_meaning(self) -> None:
        row = row_of(recipient(), message("failed", "accepted", "failed",
                                          error={"code": 131050, "title": "Stopped"}))
        assert row.status == "failed"
        assert row.error is not None
        assert row.error["code"] == 131050
        assert "stopped marketing" in row.error["meaning"]

    def test_refusal_reason_is_shown(self) -> None:
        row = row_of(recipient(), message("refused", error={"code": None, "reason": "opted_out"}))
        assert (row.status, row.reason) == ("failed", "opted_out")


class TestTotals:
    def test_cumulative_totals_and_rates(self) -> None:
        totals = Totals()
        for row in [row_of(recipient("queued"), None), row_of(recipient("skipped"), None),
                    row_of(recipient(), message("sent", "accepted")),
                    row_of(recipient(), message("read", "accepted", "delivered", "read")),
                    row_of(recipient(), message("delivered", "accepted", "delivered"),
                           [T0 + timedelta(minutes=9)]),
                    row_of(recipient(), message("failed", "failed", error={"code": 131026}))]:
            totals.add(row)
        c = totals.counts
        assert (c["recipients"], c["released"], c["sent"], c["delivered"], c["read"],
                c["replied"], c["failed"]) == (6, 4, 3, 2, 1, 1, 1)
        assert totals.rates() == {"delivered": 0.6667, "read": 0.3333, "replied": 0.3333,
                                  "failed": 0.25}

    def test_csv_has_a_header_even_when_empty(self) -> None:
        assert "".join(csv_lines([])).startswith("row,phone,status")
        lines = "".join(csv_lines([row_of(recipient("queued"), None)])).splitlines()
        assert lines[1].startswith("2,4915123456789,queued")
