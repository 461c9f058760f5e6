"""The send use case over hand-written fakes, with the Cloud API faked by httpx.MockTransport."""

import asyncio
from datetime import timedelta

import httpx
import pytest

from services.outbound_sender.ledger import Claim, Outcome, RetryMark, attempt_key
from services.outbound_sender.retry import RetryPolicy
from shared.cloud_errors import SENDER_UNKNOWN_CHANNEL, SENDER_UNREACHABLE
from shared.events import MarkRead, MessageAccepted
from shared.window import TEMPLATE_HINT
from tests.unit.outbound_sender.fakes import (
    CID,
    NUMBER,
    T0,
    TENANT,
    FakeCatchUp,
    FakeChannels,
    Rig,
    accepted,
    channel,
    meta_error,
    template,
    text,
)

DAY = 24 * 3600


class TestWindowPolicy:
    async def test_first_free_form_is_refused_as_first_contact_without_calling_meta(self):
        rig = Rig()
        await rig.service().handle(text())
        [refused] = rig.publisher.events
        assert refused.type == "outbound.refused"
        assert refused.reason == "first_contact_requires_template"
        assert "template" in refused.hint.lower()
        assert refused.detail
        assert rig.meta.requests == []

    async def test_approved_template_goes_out_on_first_contact(self):
        rig = Rig()
        await rig.service().handle(template())
        [sent] = rig.publisher.events
        assert sent.type == "outbound.accepted"
        assert sent.wamid == "wamid.1"
        assert sent.content.template_name == "welcome"
        assert rig.meta.bodies[0]["template"]["name"] == "welcome"

    @pytest.mark.parametrize(("name", "shown"), [("promo", "paused"), ("nope", "unknown")])
    async def test_unapproved_or_unknown_template_is_refused(self, name, shown):
        rig = Rig()
        await rig.service().handle(template(name=name))
        [refused] = rig.publisher.events
        assert refused.reason == "template_not_approved"
        assert shown in refused.detail
        assert rig.meta.requests == []

    async def test_free_form_inside_the_window_goes_out(self):
        rig = Rig()
        rig.customer_wrote(seconds_ago=DAY - 1)
        await rig.service().handle(text(body="hi"))
        assert rig.publisher.types == ["outbound.accepted"]
        assert rig.meta.bodies[0]["text"]["body"] == "hi"
        assert rig.catch_up.waits == []  # allowed at once: no need to wait for the store

    async def test_free_form_at_24_hours_is_refused_as_expired(self):
        rig = Rig()
        rig.customer_wrote(seconds_ago=DAY)
        await rig.service().handle(text())
        [refused] = rig.publisher.events
        assert refused.reason == "window_expired"
        assert rig.meta.requests == []

    async def test_customer_message_stored_while_waiting_for_the_store_makes_it_allowed(self):
        # The race: the customer's message was acknowledged to Meta a moment before the reply,
        # and conversation_store folds it while the sender waits for it to catch up.
        rig = Rig()
        rig.catch_up = FakeCatchUp(on_wait=lambda cid: rig.customer_wrote(0, cid))
        await rig.service().handle(text())
        assert rig.catch_up.waits == [CID]
        assert rig.publisher.types == ["outbound.accepted"]

    async def test_free_form_after_meta_closed_the_window_is_refused_though_our_clock_says_open(
            self):
        # Meta answered 131047 after the customer's last message (clock skew, or Meta counting
        # differently): the window is closed until the customer writes again.
        rig = Rig()
        rig.customer_wrote(seconds_ago=3600)
        rig.windows.closed[CID] = rig.time.now() - timedelta(seconds=60)
        await rig.service().handle(text())
        [refused] = rig.publisher.events
        assert refused.reason == "window_expired"
        assert refused.hint == TEMPLATE_HINT
        assert rig.meta.requests == []
        assert rig.catch_up.waits == [CID]  # a customer message may be on its way: waited

    async def test_customer_message_after_metas_report_reopens_the_window(self):
        rig = Rig()
        rig.windows.closed[CID] = rig.time.now() - timedelta(seconds=120)
        rig.customer_wrote(seconds_ago=60)
        await rig.service().handle(text())
        assert rig.publisher.types == ["outbound.accepted"]

    async def test_customer_message_stored_while_waiting_reopens_a_window_meta_closed(self):
        rig = Rig()
        rig.customer_wrote(seconds_ago=3600)
        rig.windows.closed[CID] = rig.time.now() - timedelta(seconds=60)
        rig.catch_up = FakeCatchUp(on_wait=lambda cid: rig.customer_wrote(0, cid))
        await rig.service().handle(text())
        assert rig.publisher.types == ["outbound.accepted"]

    async def test_approved_template_goes_out_after_meta_closed_the_window(self):
        rig = Rig()
        rig.customer_wrote(seconds_ago=3600)
        rig.windows.closed[CID] = rig.time.now()
        await rig.service().handle(template())
        assert rig.publisher.types == ["outbound.accepted"]

    async def test_store_lagging_past_the_bound_still_refuses(self):
        rig = Rig()
        rig.catch_up = FakeCatchUp(caught_up=False)
        await rig.service().handle(text())
        assert rig.publisher.events[0].reason == "first_contact_requires_template"


class TestChannels:
    async def test_unknown_number_fails_without_calling_meta(self):
        rig = Rig(channels=FakeChannels())
        await rig.service().handle(text())
        [failed] = rig.publisher.events
        assert failed.type == "outbound.failed"
        assert failed.error.code == SENDER_UNKNOWN_CHANNEL
        assert rig.meta.requests == []

    async def test_another_tenants_number_is_never_used(self):
        rig = Rig(channels=FakeChannels(channel(tenant="other-tenant")))
        rig.customer_wrote(1)
        await rig.service().handle(text())
        assert rig.publisher.events[0].error.code == SENDER_UNKNOWN_CHANNEL
        assert rig.meta.requests == []


class TestMetaErrors:
    async def test_permanent_error_fails_with_metas_code_title_and_details(self):
        rig = Rig()
        rig.customer_wrote(1)
        rig.meta.script = [meta_error(131026, details="Receiver is incapable",
                                      message="(#131026) Message undeliverable")]
        await rig.service().handle(text())
        [failed] = rig.publisher.events
        assert failed.type == "outbound.failed"
        assert failed.attempts == 1
        assert (failed.error.code, failed.error.title, failed.error.details) == (
            131026, "Message undeliverable", "Receiver is incapable")
        assert len(rig.meta.requests) == 1

    async def test_re_engagement_131047_fails_at_once_and_is_never_resent(self):
        # Meta's window closed: permanent (shared/cloud_errors.py), whatever our clock says.
        rig = Rig()
        rig.customer_wrote(1)
        rig.meta.script = [meta_error(131047, details="more than 24 hours have passed",
                                      message="(#131047) Re-engagement message")]
        service = rig.service()
        await service.handle(text())
        await service.handle(text())  # the command redelivered: the ledger has its outcome
        assert rig.publisher.types == ["outbound.failed", "outbound.failed"]
        assert rig.publisher.events[0].error.code == 131047
        assert rig.publisher.events[0].attempts == 1
        assert len(rig.meta.requests) == 1
        assert not [key for key in rig.ledger.docs if key[0] == "retries"]

    @pytest.mark.parametrize("fault", [
        meta_error(130429, status=429), meta_error(131000, status=500),
        meta_error(131016, status=503), httpx.Response(502, text="bad gateway"),
        httpx.ConnectError("connection refused"),
    ])
    async def test_transient_fault_is_retried_and_sent_once(self, fault):
        rig = Rig()
        rig.customer_wrote(1)
        rig.meta.script = [fault]
        await rig.service().handle(text())
        assert rig.publisher.types == ["outbound.accepted"]
        assert len(rig.meta.requests) == 2
        assert rig.ledger.docs[("retries", "r1:acme:cmd-1")].attempt == 1

    async def test_throughput_error_holds_the_whole_number_for_retry_after(self):
        rig = Rig()
        rig.customer_wrote(1)
        rig.meta.script = [meta_error(130429, status=429, headers={"Retry-After": "7"})]
        await rig.service().handle(text())
        assert rig.publisher.types == ["outbound.accepted"]
        assert max(rig.time.sleeps) >= 7.0
        assert rig.pacers is not None
        # The number's bucket was blocked: its next token came only after the Retry-After.
        assert rig.pacers.for_channel(channel()).bucket.updated >= 1000.0 + 7.0

    async def test_pair_rate_limit_delays_only_this_customer(self):
        rig = Rig()
        rig.customer_wrote(1)
        rig.meta.script = [meta_error(131056), meta_error(131056)]
        await rig.service().handle(text())
        assert rig.publisher.types == ["outbound.accepted"]
        waits = [s for s in rig.time.sleeps if s >= 1]
        assert waits[0] == pytest.approx(1.05)
        assert waits[1] == pytest.approx(4.2)
        # (That other customers of the number are not held is tested with the lanes.)

    async def test_retries_run_out_into_a_failure_with_the_attempt_count(self):
        rig = Rig(retry=RetryPolicy(max_attempts=3))
        rig.customer_wrote(1)
        rig.meta.script = [meta_error(131016, status=503)] * 3
        await rig.service().handle(text())
        [failed] = rig.publisher.events
        assert (failed.type, failed.error.code, failed.attempts) == ("outbound.failed", 131016, 3)
        assert len(rig.meta.requests) == 3

    async def test_unreachable_api_fails_after_the_attempts_with_a_sender_code(self):
        rig = Rig(retry=RetryPolicy(max_attempts=2))
        rig.customer_wrote(1)
        rig.meta.script = [httpx.ConnectError("refused")] * 2
        await rig.service().handle(text())
        assert rig.publisher.events[0].error.code == SENDER_UNREACHABLE

    @pytest.mark.parametrize("fault", [httpx.ReadTimeout("no answer"),
                                       httpx.RemoteProtocolError("server disconnected")])
    async def test_lost_answer_is_reported_unknown_and_never_resent(self, fault):
        rig = Rig()
        rig.customer_wrote(1)
        rig.meta.script = [fault]
        await rig.service().handle(text())
        [unknown] = rig.publisher.events
        assert unknown.type == "outbound.unknown"
        assert "not sent again" in unknown.detail
        assert len(rig.meta.requests) == 1


class TestNeverTwice:
    async def test_redelivered_command_is_republished_not_resent(self):
        rig = Rig()
        rig.customer_wrote(1)
        service = rig.service()
        await service.handle(text())
        await service.handle(text())
        assert len(rig.meta.requests) == 1
        first, again = rig.publisher.records
        assert first == again  # same bytes, same event id: subscribers see a repeat

    async def test_refusal_is_recorded_so_a_later_redelivery_does_not_send(self):
        rig = Rig()
        service = rig.service()
        await service.handle(text())  # refused: first contact
        rig.customer_wrote(0)  # the customer writes afterwards
        await service.handle(text())  # the same command, redelivered
        assert rig.meta.requests == []
        assert rig.publisher.types == ["outbound.refused", "outbound.refused"]

    async def test_accepted_command_redelivered_after_the_window_closed_stays_accepted(self):
        rig = Rig()
        rig.customer_wrote(1)
        service = rig.service()
        await service.handle(text())
        rig.time.advance(2 * DAY)
        await service.handle(text())
        assert rig.publisher.types == ["outbound.accepted", "outbound.accepted"]
        assert len(rig.meta.requests) == 1

    async def test_claim_abandoned_mid_call_is_reported_unknown_not_resent(self):
        rig = Rig()
        rig.customer_wrote(1)
        key = attempt_key(TENANT, "cmd-1")
        # A replica claimed attempt 1 and died before recording anything.
        rig.ledger.docs[("attempts", key)] = Claim(
            key=key, attempt=1, claim_id="dead", owner="replica-b", at=T0 - timedelta(minutes=1),
            lease_until=T0 - timedelta(seconds=30))
        await rig.service().handle(text())
        [unknown] = rig.publisher.events
        assert unknown.type == "outbound.unknown"
        assert rig.meta.requests == []

    async def test_live_claim_is_waited_for_and_its_outcome_republished(self):
        rig = Rig()
        rig.customer_wrote(1)
        key = attempt_key(TENANT, "cmd-1")
        rig.ledger.docs[("attempts", key)] = Claim(
            key=key, attempt=1, claim_id="live", owner="replica-b", at=T0,
            lease_until=T0 + timedelta(seconds=20))
        service = rig.service()
        waiting = asyncio.create_task(service.handle(text()))
        await asyncio.sleep(0)
        # Replica b finishes its call and records the outcome while we wait.
        rig.ledger.docs[("outcomes", key)] = Outcome(key, '{"from": "replica-b"}', "x")
        rig.publisher.records.clear()
        await asyncio.wait_for(waiting, 5)
        assert rig.publisher.records == [(CID.encode(), b'{"from": "replica-b"}')]
        assert rig.meta.requests == []

    async def test_failed_attempt_left_by_a_dead_replica_is_resumed(self):
        rig = Rig()
        rig.customer_wrote(1)
        key = attempt_key(TENANT, "cmd-1")
        rig.ledger.docs[("attempts", key)] = Claim(
            key=key, attempt=1, claim_id="dead", owner="replica-b", at=T0,
            lease_until=T0 + timedelta(seconds=20))
        rig.ledger.docs[("retries", f"r1:{key}")] = RetryMark(
            key=key, attempt=1, retry_at=T0 + timedelta(seconds=2), at=T0, code=130429)
        await rig.service().handle(text())
        assert rig.publisher.types == ["outbound.accepted"]
        assert len(rig.meta.requests) == 1
        assert rig.ledger.docs[("retries", f"a2:{key}")].owner == "replica-a"

    async def test_two_replicas_racing_for_one_command_send_it_once(self):
        rig = Rig()
        rig.customer_wrote(1)
        other = Rig(ledger=rig.ledger, meta=rig.meta, windows=rig.windows, time=rig.time,
                    publisher=rig.publisher, owner="replica-b")
        await asyncio.gather(rig.service().handle(text()), other.service().handle(text()))
        assert len(rig.meta.requests) == 1
        assert rig.publisher.types == ["outbound.accepted", "outbound.accepted"]
        assert len({e.event_id for e in rig.publisher.events}) == 1

    async def test_lost_answer_to_our_own_claim_insert_still_sends_once(self):
        rig = Rig()
        rig.customer_wrote(1)
        rig.ledger.fail_next_claim_after_insert = True  # inserted, but the answer was lost
        await rig.service().handle(text())
        assert rig.publisher.types == ["outbound.accepted"]
        assert len(rig.meta.requests) == 1

    async def test_cancelled_mid_call_still_records_and_publishes_the_outcome(self):
        rig = Rig()
        rig.customer_wrote(1)
        release = asyncio.Event()
        calls: list[int] = []

        async def slow_meta(request: httpx.Request) -> httpx.Response:
            calls.append(1)
            await release.wait()
            return accepted("wamid.slow")

        service = rig.service(handler=slow_meta)
        task = asyncio.create_task(service.handle(text()))
        while not calls:  # noqa: ASYNC110 - polling the effect under test
            await asyncio.sleep(0)
        task.cancel()  # shutdown while the call is in flight
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert rig.publisher.types == ["outbound.accepted"]
        assert ("outcomes", "acme:cmd-1") in rig.ledger.docs


class TestReadReceipts:
    def read(self, wamid: str | None = "wamid.IN") -> MarkRead:
        return MarkRead(occurred_at=T0, tenant_id=TENANT, conversation_id=CID, command_id="r1",
                        business_phone_number_id=NUMBER, message_wamid=wamid)

    async def test_marks_the_message_read_and_publishes_nothing(self):
        rig = Rig()
        rig.meta.script = [httpx.Response(200, json={"success": True})]
        await rig.service().handle(self.read())
        assert rig.meta.bodies == [{"messaging_product": "whatsapp", "status": "read",
                                    "message_id": "wamid.IN"}]
        assert rig.publisher.records == []

    async def test_without_a_message_id_there_is_nothing_to_mark(self):
        rig = Rig()
        await rig.service().handle(self.read(None))
        assert rig.meta.requests == []

    async def test_rate_limited_receipt_is_retried(self):
        rig = Rig()
        rig.meta.script = [meta_error(130429, status=429),
                           httpx.Response(200, json={"success": True})]
        await rig.service().handle(self.read())
        assert len(rig.meta.requests) == 2


async def test_accepted_event_carries_the_command_and_what_was_sent():
    rig = Rig()
    rig.customer_wrote(1)
    command = text(body="hello").model_copy(update={"actor_id": "agent-7",
                                                    "reference": "ref-1"})
    await rig.service().handle(command)
    [event] = rig.publisher.events
    assert isinstance(event, MessageAccepted)
    assert (event.command_id, event.conversation_id, event.actor_id, event.reference) == (
        "cmd-1", CID, "agent-7", "ref-1")
    assert event.content.text == "hello"
    assert event.accepted_at == rig.time.now()
    assert rig.publisher.records[0][0] == CID.encode()
