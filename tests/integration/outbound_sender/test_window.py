"""The window policy end to end: sandbox as Meta, real webhook_ingest, conversation_store, Kafka."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from shared.config import InfraSettings
from tests.integration.outbound_sender.conftest import (
    CHANNEL,
    CUSTOMER,
    inbox,
    prepare_database,
    template,
    text,
)

pytestmark = pytest.mark.integration


async def test_first_contact_template_reply_and_the_window_closing(
    settings: InfraSettings, producer: Any, db: Any
):
    await prepare_database(db)
    async with inbox(settings, producer) as rig:
        # First contact: a free-form message is refused, a template goes out.
        await rig.command(text("t1"), template("t2"))
        outcomes = await rig.outcomes(2)
        [refused], [accepted] = outcomes["t1"], outcomes["t2"]
        assert refused.type == "outbound.refused"
        assert refused.reason == "first_contact_requires_template"
        assert accepted.type == "outbound.accepted"
        assert [b["type"] for b in await rig.sent_bodies()] == ["template"]

        # The customer answers (sandbox -> webhook_ingest -> Kafka -> conversation_store).
        await rig.sandbox.customer_says(CHANNEL.phone_number_id, CUSTOMER, "Hi, tell me more")
        await rig.command(text("t3", "Sure! Here is more."))
        [reply] = (await rig.outcomes(3))["t3"]
        assert reply.type == "outbound.accepted"
        sent = await rig.sent_bodies()
        assert [b["type"] for b in sent] == ["template", "text"]
        assert sent[1]["text"]["body"] == "Sure! Here is more."

        # 24 hours later, on both clocks: free-form is refused again, before reaching Meta.
        later = timedelta(hours=24, seconds=1)
        await rig.sandbox.advance_clock(later)
        rig.clock.shift = later
        await rig.command(text("t4"))
        [expired] = (await rig.outcomes(4))["t4"]
        assert expired.type == "outbound.refused"
        assert expired.reason == "window_expired"
        assert len(await rig.sent_bodies()) == 2


async def test_reply_right_after_a_customer_message_the_store_has_not_folded_is_allowed(
    settings: InfraSettings, producer: Any, db: Any
):
    await prepare_database(db)
    # conversation_store is not running yet: the customer's message is acknowledged to the
    # sandbox (durable in Kafka) but not in the conversation document when the reply arrives.
    async with inbox(settings, producer, start_store=False) as rig:
        said = await rig.sandbox.customer_says(CHANNEL.phone_number_id, CUSTOMER, "Are you there?")
        assert said.webhook_status == 200
        await rig.command(text("r1", "Yes, here!"))
        await asyncio.sleep(1.0)  # the sender reads no window and waits for the store
        assert (await rig.sandbox.received(CHANNEL.phone_number_id)) == []
        await rig.start_store()
        [reply] = (await rig.outcomes(1))["r1"]
        assert reply.type == "outbound.accepted"
        assert [b["type"] for b in await rig.sent_bodies()] == ["text"]
