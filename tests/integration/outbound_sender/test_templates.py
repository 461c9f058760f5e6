"""Template status from Meta's webhook, folded by conversation_store, obeyed by the sender."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.events import TemplateStatus, TemplateStatusChanged
from shared.events.topics import WHATSAPP_INBOUND
from shared.kafka import publish
from shared.templates import TEMPLATES_COLLECTION, template_doc_id
from tests.integration.outbound_sender.conftest import (
    CHANNEL,
    TEMPLATE,
    inbox,
    prepare_database,
    template,
)

pytestmark = pytest.mark.integration


async def test_paused_template_is_refused_and_approved_again_goes_out(
    settings: Any, producer: Any, db: Any
):
    await prepare_database(db)
    doc_id = template_doc_id(CHANNEL.waba_id, TEMPLATE, "en_US")

    async def meta_says(event: str) -> None:
        await publish(producer, settings.topic(WHATSAPP_INBOUND), [TemplateStatusChanged(
            occurred_at=datetime.now(UTC), tenant_id=CHANNEL.tenant_id,
            payload=TemplateStatus(waba_id=CHANNEL.waba_id, template_id="1", name=TEMPLATE,
                                   language="en_US", event=event, category="UTILITY"))])
        deadline = time.monotonic() + 20
        while (await db[TEMPLATES_COLLECTION].find_one({"_id": doc_id}))["status"] != event:
            assert time.monotonic() < deadline, "the store did not fold the template status"
            await asyncio.sleep(0.1)

    async with inbox(settings, producer) as rig:
        await meta_says("PAUSED")
        await rig.command(template("p1"))
        [refused] = (await rig.outcomes(1))["p1"]
        assert refused.type == "outbound.refused"
        assert refused.reason == "template_not_approved"
        assert "paused" in refused.detail

        await meta_says("APPROVED")
        await rig.command(template("p2"))
        [accepted] = (await rig.outcomes(2))["p2"]
        assert accepted.type == "outbound.accepted"
