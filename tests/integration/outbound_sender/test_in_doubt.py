"""A send in doubt resolves itself (issue 11): the Cloud API took the message but never answered,
so the sender reports ``outbound.unknown`` and never resends; Meta's status webhooks echo the
command id (``biz_opaque_callback_data``), and the stored message ends with its wamid and Meta's
real status. Sandbox as Meta, real webhook_ingest, conversation_store, Kafka and database."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from services.conversation_store.documents import command_message_id
from services.conversation_store.statuses import rank
from shared import callback_data
from shared.config import InfraSettings
from tests.integration.outbound_sender.conftest import (
    CHANNEL,
    CID,
    FAST_SANDBOX,
    inbox,
    prepare_database,
    template,
)
from tests.integration.outbound_sender.test_restart import spawn

pytestmark = pytest.mark.integration
NUMBER = CHANNEL.phone_number_id

ORDERS: dict[str, dict[str, Any]] = {
    # Meta's statuses reach the store before the sender gives up on its call (1 s).
    "statuses_before_unknown": FAST_SANDBOX,
    # ... or after it.
    "unknown_before_statuses": {**FAST_SANDBOX, "sent_delay_seconds": 2.0,
                                "delivered_delay_seconds": 2.2, "read_delay_seconds": 2.4},
    # Reordered and duplicated webhooks.
    "reordered_and_duplicated": {**FAST_SANDBOX, "out_of_order_probability": 1.0,
                                 "duplicate_probability": 1.0},
}


@pytest.mark.parametrize("order", list(ORDERS))
async def test_a_send_in_doubt_ends_with_its_wamid_and_metas_status(
    settings: InfraSettings, producer: Any, db: Any, order: str
):
    await prepare_database(db)
    async with inbox(settings, producer, sandbox_settings=ORDERS[order],
                     call_deadline_seconds=1.0) as rig:
        # The sandbox takes the message (and plans its statuses) but does not answer in time.
        await rig.sandbox.inject_fault(NUMBER, "timeout", seconds=5.0, accept=True)
        await rig.command(template("doubt-1"))
        [result] = (await rig.outcomes(1, timeout=30))["doubt-1"]
        assert result.type == "outbound.unknown"
        [request] = await rig.sandbox.accepted(NUMBER)  # sent once, never again
        assert request.wamid is not None
        assert callback_data.decode(request.body["biz_opaque_callback_data"]).command_id == (
            "doubt-1")
        wamid = request.wamid

        # What Meta (the sandbox) said about that wamid, once every webhook is delivered.
        deadline = time.monotonic() + 30
        while not (emitted := await rig.sandbox.statuses(NUMBER, wamid=wamid)) or not all(
                s.delivered for s in emitted):
            assert time.monotonic() < deadline, f"statuses not delivered: {emitted}"
            await asyncio.sleep(0.1)
        highest = max((s.status for s in emitted), key=rank)
        assert highest in ("delivered", "read")

        mid = command_message_id(CID, "doubt-1")
        while True:
            doc = await db.messages.find_one({"_id": mid})
            if doc is not None and doc.get("status") == highest and doc.get("wamid") == wamid:
                break
            assert time.monotonic() < deadline, f"the message stayed {doc}"
            await asyncio.sleep(0.1)
        assert doc["outcome"] == "accepted"
        assert doc["visible"]
        assert not doc["stub"]
        assert {s["status"] for s in doc["statuses"]} == {"unknown"} | {
            s.status for s in emitted}
        # No orphan stub beside it: the wamid is on exactly one document.
        assert [d["_id"] async for d in db.messages.find({"wamid": wamid})] == [mid]
        # The conversation list shows it as the last message, as an acknowledged send.
        conversation = await db.conversations.find_one({"_id": CID})
        assert conversation is not None
        assert conversation["last_message_id"] == mid
        assert len(await rig.sandbox.accepted(NUMBER)) == 1


async def test_sends_in_doubt_after_a_sigkill_end_with_metas_status(
    settings: InfraSettings, producer: Any, db: Any, tmp_path: Path
):
    """The issue's own scenario: the sender SIGKILLed mid-stream reports the calls it had in
    flight as unknown; every one Meta took ends with its wamid and Meta's highest status."""
    await prepare_database(db)
    async with inbox(settings, producer, sender=False) as rig:
        customers = [f"1650558{c:04d}" for c in range(8)]
        await rig.command(*[template(f"s{c}-{n}", customer=customer)
                            for n in range(6) for c, customer in enumerate(customers)])
        # Each call is held 1.5 s at Meta. The sandbox records a call when it answers, so once
        # 12 are recorded the next calls are on their way: the SIGKILL lands 0.7 s later, while
        # they are held (killed at once, it could land before they were sent, and prove nothing).
        await rig.sandbox.inject_fault(NUMBER, "slow", count=10_000, seconds=1.5)
        log = (tmp_path / "sender.log").open("wb")
        process = spawn(settings, rig.sandbox.cloud_api_base_url, log)
        try:
            deadline = time.monotonic() + 30
            while len(await rig.sandbox.received(NUMBER)) < 12:
                assert time.monotonic() < deadline, "the sender did not start sending"
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.7)
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            await rig.sandbox.clear_faults(NUMBER)
            process = spawn(settings, rig.sandbox.cloud_api_base_url, log)
            outcomes = await rig.outcomes(48, timeout=60)  # after the dead member's session
        finally:
            process.kill()
            process.wait(10)
        unknown = {c for c, events in outcomes.items()
                   if {e.type for e in events} == {"outbound.unknown"}}
        assert unknown, "no send was in doubt: the scenario proves nothing"
        requests = [(callback_data.decode(r.body["biz_opaque_callback_data"]).command_id,
                     r.wamid) for r in await rig.sandbox.accepted(NUMBER)]
        assert max(Counter(c for c, _ in requests).values()) == 1  # nothing went out twice
        taken = dict(requests)
        in_doubt_taken = {c: w for c, w in taken.items() if c in unknown and w is not None}
        assert in_doubt_taken, ("Meta took none of the sends in doubt", sorted(unknown))

        deadline = time.monotonic() + 60
        for command_id, wamid in sorted(in_doubt_taken.items()):
            cid = f"{NUMBER}:{outcomes[command_id][0].customer_wa_id}"
            while True:
                emitted = await rig.sandbox.statuses(NUMBER, wamid=wamid)
                highest = max((s.status for s in emitted), key=rank, default=None)
                doc = await db.messages.find_one({"_id": command_message_id(cid, command_id)})
                if (doc is not None and all(s.delivered for s in emitted)
                        and (doc["wamid"], doc["status"]) == (wamid, highest)):
                    break
                assert time.monotonic() < deadline, (command_id, highest, doc)
                await asyncio.sleep(0.1)
            assert doc["outcome"] == "accepted"
            assert [d["_id"] async for d in db.messages.find({"wamid": wamid})] == [doc["_id"]]
        # Commands Meta never got stay unknown: nothing was resent to find out.
        for command_id in unknown - set(in_doubt_taken):
            cid = f"{NUMBER}:{outcomes[command_id][0].customer_wa_id}"
            doc = await db.messages.find_one({"_id": command_message_id(cid, command_id)})
            assert doc is not None
            assert doc["outcome"] == "unknown"
