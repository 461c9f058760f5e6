"""Issue 14: a send to a customer known only by BSUID goes to Meta as ``recipient``, no ``to``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sandbox.identity import bsuid_for
from shared.events import SendTemplate
from tests.integration.outbound_sender.conftest import (
    CHANNEL,
    CUSTOMER,
    TEMPLATE,
    inbox,
    prepare_database,
)

pytestmark = pytest.mark.integration


async def test_a_bsuid_only_conversation_is_sent_by_recipient(
    settings: Any, producer: Any, db: Any
):
    await prepare_database(db)
    # A BSUID the sandbox issued for one of its customers: it resolves it as Meta would.
    user_id = bsuid_for(CHANNEL.waba_id, CUSTOMER)
    command = SendTemplate(
        occurred_at=datetime.now(UTC), tenant_id=CHANNEL.tenant_id,
        conversation_id=f"{CHANNEL.phone_number_id}:{user_id}", command_id="bsuid-1",
        business_phone_number_id=CHANNEL.phone_number_id, customer_user_id=user_id,
        template_name=TEMPLATE, language="en_US", reference="bsuid-1")
    async with inbox(settings, producer) as rig:
        # The customer writes first, so the account was shown their BSUID (as on Meta).
        await rig.sandbox.customer_says(CHANNEL.phone_number_id, CUSTOMER, "Hi")
        await rig.command(command)
        [outcome] = (await rig.outcomes(1))["bsuid-1"]
        assert outcome.type == "outbound.accepted", outcome.model_dump_json()
        assert (outcome.customer_wa_id, outcome.customer_user_id) == (None, user_id)
        [body] = [b for b in await rig.sent_bodies() if b.get("recipient") == user_id]
        assert "to" not in body
        assert body["template"]["name"] == TEMPLATE
