"""Read receipts once per message, and typing indicators (receipts.py), over the fakes."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from services.outbound_sender.ledger import Done, Doubt, Fresh, Resume, Verdict, Wait
from services.outbound_sender.receipts import receipt_attempt, receipt_key
from shared.events import MarkRead, ShowTyping
from tests.unit.outbound_sender.fakes import CID, NUMBER, T0, TENANT, Rig, channel, meta_error


def read(command_id: str = "r1", wamid: str | None = "wamid.IN", *,
         send_receipt: bool = True) -> MarkRead:
    return MarkRead(occurred_at=T0, tenant_id=TENANT, conversation_id=CID, command_id=command_id,
                    business_phone_number_id=NUMBER, message_wamid=wamid,
                    send_receipt=send_receipt)


def typing(command_id: str = "t1", wamid: str = "wamid.IN", *,
           seconds: float = 0) -> ShowTyping:
    return ShowTyping(occurred_at=T0 + timedelta(seconds=seconds), tenant_id=TENANT,
                      conversation_id=CID, command_id=command_id,
                      business_phone_number_id=NUMBER, message_wamid=wamid)


@pytest.mark.parametrize(("verdict", "attempt"), [
    (Fresh(), 1),
    (Resume(3, T0), 3),
    (Done("{}"), None),
    (Wait(T0), None),
    (Doubt(1), None),
])
def test_receipt_attempt(verdict: Verdict, attempt: int | None) -> None:
    assert receipt_attempt(verdict) == attempt


def test_a_receipt_key_is_per_tenant_and_message() -> None:
    assert receipt_key("acme", "wamid.X") == "acme:read:wamid.X"
    assert receipt_key("acme", "wamid.X") != receipt_key("globex", "wamid.X")


class TestReadReceipts:
    async def test_one_receipt_per_message_whatever_the_commands(self) -> None:
        rig = Rig()
        service = rig.service()
        await service.handle(read("r1"))
        await service.handle(read("r1"))  # the same command redelivered
        await service.handle(read("r2"))  # the thread opened again
        assert rig.meta.bodies == [{"messaging_product": "whatsapp", "status": "read",
                                    "message_id": "wamid.IN"}]
        await service.handle(read("r3", "wamid.NEWER"))  # the customer wrote again
        assert [b["message_id"] for b in rig.meta.bodies] == ["wamid.IN", "wamid.NEWER"]
        assert rig.publisher.records == []

    async def test_another_replica_finds_the_claim(self) -> None:
        rig = Rig()
        await rig.service().handle(read("r1"))
        other = Rig(ledger=rig.ledger, meta=rig.meta, owner="replica-b")
        await other.service().handle(read("r2"))
        assert len(rig.meta.requests) == 1

    async def test_receipts_off_sends_nothing(self) -> None:
        rig = Rig()
        await rig.service().handle(read(send_receipt=False))
        assert rig.meta.requests == []
        assert rig.ledger.docs == {}

    async def test_not_the_tenants_number_sends_nothing(self) -> None:
        rig = Rig()
        rig.channels.channels[NUMBER] = channel(tenant="globex")
        await rig.service().handle(read())
        assert rig.meta.requests == []

    async def test_a_refused_receipt_is_not_tried_again(self) -> None:
        rig = Rig()
        rig.meta.script = [meta_error(100)]  # Meta: not a message of this number
        service = rig.service()
        await service.handle(read("r1"))
        await service.handle(read("r2"))
        assert len(rig.meta.requests) == 1

    async def test_retries_run_out_then_the_next_open_tries_again(self) -> None:
        rig = Rig()
        rig.meta.script = [meta_error(131000, status=500)] * 2
        rig.retry = type(rig.retry)(max_attempts=2)
        service = rig.service()
        await service.handle(read("r1"))
        assert len(rig.meta.requests) == 2  # never accepted: a retry mark is left
        await service.handle(read("r2"))
        assert len(rig.meta.requests) == 3  # the second attempt, accepted
        await service.handle(read("r3"))
        assert len(rig.meta.requests) == 3

    async def test_in_doubt_is_never_resent(self) -> None:
        rig = Rig()
        rig.meta.script = [httpx.ReadTimeout("no answer")]
        service = rig.service()
        await service.handle(read("r1"))
        await service.handle(read("r2"))
        assert len(rig.meta.requests) == 1


class TestTyping:
    async def test_shows_typing_and_counts_as_the_receipt(self) -> None:
        rig = Rig()
        service = rig.service()
        await service.handle(typing())
        assert rig.meta.bodies == [{"messaging_product": "whatsapp", "status": "read",
                                    "message_id": "wamid.IN",
                                    "typing_indicator": {"type": "text"}}]
        await service.handle(read())  # the message is read at Meta already
        assert len(rig.meta.requests) == 1

    async def test_one_per_conversation_per_ten_seconds_of_the_agents_clock(self) -> None:
        rig = Rig()
        service = rig.service()
        await service.handle(typing("t1", seconds=0))
        await service.handle(typing("t1", seconds=0))  # redelivered
        await service.handle(typing("t2", seconds=4))  # another agent, same conversation
        rig.time.advance(10)
        await service.handle(typing("t3", seconds=10))
        assert len(rig.meta.requests) == 2

    async def test_a_stale_indicator_is_dropped(self) -> None:
        rig = Rig()
        rig.time.advance(16)  # the command waited past TYPING_MAX_AGE
        await rig.service().handle(typing())
        assert rig.meta.requests == []

    async def test_a_retry_that_would_come_too_late_is_dropped(self) -> None:
        rig = Rig()
        rig.meta.script = [meta_error(131000, status=500)] * 10
        await rig.service().handle(typing())
        assert 1 <= len(rig.meta.requests) < 10
        assert sum(rig.time.sleeps) > 0
        assert ("attempts", receipt_key(TENANT, "wamid.IN")) not in rig.ledger.docs
