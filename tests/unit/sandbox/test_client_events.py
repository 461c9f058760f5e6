"""The test client's methods for Meta's other webhook kinds, against a live sandbox (loopback,
no webhook URL: nothing is posted, each call still answers what it would have posted)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from pydantic import SecretStr

from sandbox.catalog import TemplateSpec
from sandbox.testing import SandboxClient, SandboxControlError, running_sandbox
from shared.channels import Channel

NUMBER = "100000000000078"
WABA = "2078"
CUSTOMER = "16505551234"
CHANNEL = Channel(phone_number_id=NUMBER, display_phone_number="15550007878", waba_id=WABA,
                  tenant_id="acme", access_token=SecretStr("tok"), throughput_mps=1000)
TEMPLATES = [TemplateSpec(name="welcome", body_text="Welcome, {{1}}!")]


async def send_welcome(sandbox: SandboxClient, params: int = 1) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(
            sandbox.messages_url(NUMBER), headers={"Authorization": "Bearer tok"},
            json={"messaging_product": "whatsapp", "to": CUSTOMER, "type": "template",
                  "template": {"name": "welcome", "language": {"code": "en_US"}, "components": [
                      {"type": "body", "parameters": [{"type": "text", "text": "Jo"}] * params}]}})


class TestClient:
    async def test_each_kind_answers_what_it_posted(self) -> None:
        async with running_sandbox(channels=[CHANNEL], templates=TEMPLATES) as sandbox:
            said = await sandbox.customer_says(NUMBER, CUSTOMER, "hi")
            edit = await sandbox.customer_edits(NUMBER, CUSTOMER, said.wamid, "hello")
            assert edit.payload["entry"][0]["changes"][0]["value"]["messages"][0]["type"] \
                == "edit"
            call = await sandbox.customer_calls(NUMBER, CUSTOMER, answered=False)
            assert call.webhook_statuses == [None, None]  # no webhook URL
            assert len(call.payloads) == 2
            echo = await sandbox.app_sends(NUMBER, CUSTOMER, "from the app")
            assert echo.id is not None
            assert echo.webhook_status is None
            sync = await sandbox.history_sync(NUMBER, CUSTOMER, declined=True)
            assert sync.payloads[0]["entry"][0]["changes"][0]["field"] == "history"
            alert = await sandbox.account_alert(WABA, "OBA_APPROVED")
            assert alert.payloads[0]["entry"][0]["changes"][0]["field"] == "account_alerts"
            with pytest.raises(SandboxControlError):
                await sandbox.app_deletes(NUMBER, CUSTOMER, said.wamid)  # not an app message

    async def test_restriction_marketing_and_template_content(self) -> None:
        async with running_sandbox(channels=[CHANNEL], templates=TEMPLATES) as sandbox:
            await sandbox.restrict_account(WABA, expires_in=timedelta(minutes=5))
            assert (await send_welcome(sandbox)).status_code == 403
            await sandbox.lift_restrictions(WABA)
            assert (await send_welcome(sandbox)).status_code == 200
            spec = await sandbox.change_template_components(WABA, "welcome", "Hi {{1}} {{2}}")
            assert spec.body_parameters == 2
            assert (await send_welcome(sandbox)).status_code == 400  # 132000 now
            assert (await send_welcome(sandbox, params=2)).status_code == 200
            late = await sandbox.customer_says(NUMBER, CUSTOMER, "hello?",
                                               sent_ago=timedelta(hours=25))
            assert late.timestamp <= await sandbox.now() - timedelta(hours=25)
