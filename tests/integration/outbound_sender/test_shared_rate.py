"""Two sender processes share ONE number's rate through the database (no hand-set share): the
rate both replicas send at together stays within the number's rate plus the burst, nothing is
sent twice, and both replicas take part.

A correctness check with generous bounds, not a timing assertion of speed: the measured rate is
only bounded from above (pacing), the speed is the bench's business (bench/outbound_elastic.py).
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import pytest

from shared.config import InfraSettings
from shared.read_model import SEND_ATTEMPTS_COLLECTION, SEND_RETRIES_COLLECTION
from tests.integration.outbound_sender.conftest import (
    CHANNEL,
    inbox,
    prepare_database,
    reference_counts,
    sender_settings,
    spawn_sender,
    template,
)

pytestmark = pytest.mark.integration
RATE = 20  # the number's Meta throughput, messages/s
SLOW = CHANNEL.model_copy(update={"throughput_mps": RATE})
NUMBER = SLOW.phone_number_id
COMMANDS = 160  # 8 s at the rate
CONVERSATIONS = 40


def spawn(settings: InfraSettings, base_url: str, name: str, log: Any
          ) -> subprocess.Popen[bytes]:
    return spawn_sender(settings, sender_settings(settings, base_url), log,
                        OUTBOUND_SENDER_INSTANCE_ID=name, OUTBOUND_SENDER_RATE_SCOPE="shared",
                        OUTBOUND_SENDER_CAMPAIGNS_ENABLED="false")


async def test_two_replicas_share_one_numbers_rate_without_a_hand_set_share(
    settings: InfraSettings, producer: Any, db: Any, tmp_path: Path
):
    await prepare_database(db, SLOW)
    async with inbox(settings, producer, with_customers=False, sender=False,
                     channels=(SLOW,)) as rig:
        log = (tmp_path / "senders.log").open("wb")
        processes = [spawn(settings, rig.sandbox.cloud_api_base_url, f"replica-{n}", log)
                     for n in range(2)]
        try:
            # Both join before the backlog, so both own partitions while it drains.
            await asyncio.sleep(6)
            await rig.command(*[template(f"r{n:03d}", customer=f"1650557{n % CONVERSATIONS:04d}",
                                         priority="bulk", channel=SLOW)
                                for n in range(COMMANDS)])
            outcomes = await rig.outcomes(COMMANDS, timeout=90)
            for process in processes:
                process.terminate()
            for process in processes:
                assert process.wait(30) == 0
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait(10)

        assert len(outcomes) == COMMANDS
        received = await rig.sandbox.received(NUMBER)
        accepted = [r for r in received if r.wamid]
        assert max(reference_counts([r.body for r in accepted]).values()) == 1  # no duplicates
        assert len(accepted) == COMMANDS  # a 130429, if the machine bunched sends, was retried

        # The global rate is the replicas' doing at their pace point: every claim (attempt 1 in
        # send_attempts, later attempts in send_retries) is stamped right after its token. Over
        # every window of at least 2 s, both replicas together claimed at most the rate plus the
        # burst: the shared bucket's capacity (two leases of 0.15 s), the tokens the replicas
        # may still hold (0.2 s of the rate), and a margin of 0.5 s of the rate for a loaded
        # machine's scheduling between the token and the stamp. Meta's (the sandbox's) clock is
        # not used: it stamps a request when it handles it, after the claim's database write and
        # the HTTP hop, whose jitter on a loaded 2-CPU machine is not the sender's pacing.
        claims = [doc async for doc in db[SEND_ATTEMPTS_COLLECTION].find({})]
        claims += [doc async for doc in db[SEND_RETRIES_COLLECTION].find(
            {"claim_id": {"$exists": True}})]
        times = sorted(doc["at"].timestamp() for doc in claims)
        assert len(times) >= COMMANDS
        allowance = 2 * RATE * 0.15 + RATE * 0.2 + RATE * 0.5
        for i, start in enumerate(times):
            for j in range(i + 1, len(times)):
                span = times[j] - start
                if span >= 2.0:
                    assert j - i + 1 <= RATE * span + allowance, (span, j - i + 1)
        # Meta's side, for the record: a 130429 can only come from that jitter, and is rare.
        limited = [r for r in received if r.error_code == 130429]
        assert len(limited) <= COMMANDS // 20, [r.at for r in limited]

        # Both replicas sent: the rate was shared, not held by one replica alone.
        owners = {doc["owner"] async for doc in db[SEND_ATTEMPTS_COLLECTION].find({})}
        assert owners == {"replica-0", "replica-1"}
