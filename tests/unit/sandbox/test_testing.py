"""The test helper other services use: the sandbox on a loopback port, driven by its client."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from pydantic import SecretStr

from sandbox.catalog import TemplateSpec
from sandbox.testing import SandboxClient, SandboxControlError, running_sandbox
from shared.channels import Channel

NUMBER = "100000000000077"
CUSTOMER = "16505551234"
CHANNEL = Channel(phone_number_id=NUMBER, display_phone_number="15550007777", waba_id="2077",
                  tenant_id="acme", access_token=SecretStr("tok"), throughput_mps=1000)


async def send_text(sandbox: SandboxClient, body: str = "hi") -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(
            sandbox.messages_url(NUMBER), headers={"Authorization": "Bearer tok"},
            json={"messaging_product": "whatsapp", "to": CUSTOMER, "type": "text",
                  "text": {"body": body}})


async def send_template(sandbox: SandboxClient, name: str = "welcome") -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(
            sandbox.messages_url(NUMBER), headers={"Authorization": "Bearer tok"},
            json={"messaging_product": "whatsapp", "to": CUSTOMER, "type": "template",
                  "template": {"name": name, "language": {"code": "en_US"}}})


class TestRunningSandbox:
    async def test_the_whole_client_against_a_live_sandbox(self) -> None:
        templates = [TemplateSpec(name="welcome", body_text="Welcome!")]
        async with running_sandbox(channels=[CHANNEL], templates=templates) as sandbox:
            assert sandbox.base_url.startswith("http://127.0.0.1:")
            assert sandbox.messages_url(NUMBER) == (
                f"{sandbox.cloud_api_base_url}/{NUMBER}/messages")
            assert sandbox.cloud_api_base_url == f"{sandbox.base_url}/v25.0"

            # No customer message yet: free-form is accepted, then fails by status (Meta's
            # 131047 is asynchronous), then the customer writes.
            assert (await send_text(sandbox)).status_code == 200
            assert (await sandbox.stats())["outcomes"]["failed_status_131047"] == 1
            inbound = await sandbox.customer_says(NUMBER, CUSTOMER, "hello")
            assert inbound.wamid.startswith("wamid.")
            assert inbound.webhook_status is None  # no webhook URL in this test
            accepted = await send_text(sandbox, "hi back")
            assert accepted.status_code == 200

            items = await sandbox.received(NUMBER)
            assert [i.http_status for i in items] == [200, 200]
            sent = (await sandbox.accepted(NUMBER))[-1]
            assert sent.wamid == accepted.json()["messages"][0]["id"]
            assert sent.body["text"] == {"body": "hi back"}
            assert sent.accepted

            # Faults apply to the next requests, then the number recovers.
            await sandbox.inject_fault(NUMBER, "rate_limit", count=1)
            await sandbox.inject_fault(NUMBER, "server_error", http_status=502)
            answers = [await send_text(sandbox) for _ in range(3)]
            assert [r.status_code for r in answers] == [429, 502, 200]
            await sandbox.inject_fault(NUMBER, "unknown_error", count=5)
            await sandbox.clear_faults(NUMBER)
            assert (await send_text(sandbox)).status_code == 200

            # The clock closes the window; templates still go out, until paused.
            before = await sandbox.now()
            after = await sandbox.advance_clock(timedelta(hours=24))
            assert after - before >= timedelta(hours=24)
            assert (await send_text(sandbox)).status_code == 200
            assert (await sandbox.stats())["outcomes"]["failed_status_131047"] == 2
            assert (await send_template(sandbox)).status_code == 200
            await sandbox.put_template(TemplateSpec(name="welcome", status="PAUSED"))
            paused = await send_template(sandbox)
            assert paused.json()["error"]["code"] == 132015

            behaviour = await sandbox.configure(duplicate_probability=0.5)
            assert behaviour["duplicate_probability"] == 0.5
            stats = await sandbox.stats()
            assert stats["accepted_by_number"] == {NUMBER: 6}  # the two 131047s were answered 200
            await sandbox.wait_webhooks_idle(timeout=1)

            await sandbox.reset()
            assert await sandbox.received() == []

    async def test_read_receipts_and_typing_indicators_are_listed_apart(self) -> None:
        async with running_sandbox(channels=[CHANNEL]) as sandbox, httpx.AsyncClient() as http:
            first = await sandbox.customer_says(NUMBER, CUSTOMER, "hello")
            second = await sandbox.customer_says(NUMBER, CUSTOMER, "anyone?")

            async def mark(wamid: str, typing: bool = False) -> int:
                body: dict[str, object] = {"messaging_product": "whatsapp", "status": "read",
                                           "message_id": wamid}
                if typing:
                    body["typing_indicator"] = {"type": "text"}
                response = await http.post(sandbox.messages_url(NUMBER), json=body,
                                           headers={"Authorization": "Bearer tok"})
                return response.status_code

            assert await mark(first.wamid) == 200
            assert await mark(second.wamid, typing=True) == 200
            assert await mark("wamid.unknown") == 400  # refused: not listed
            assert (await send_text(sandbox)).status_code == 200  # a message: not listed
            receipts = await sandbox.read_receipts(NUMBER)
            assert [r.read_message_id for r in receipts] == [first.wamid]
            assert await sandbox.read_receipts(NUMBER, message_id=second.wamid) == []
            [typing] = await sandbox.typing_indicators(NUMBER, message_id=second.wamid)
            assert typing.is_typing_indicator
            assert not typing.is_read_receipt

    async def test_a_second_channel_can_be_added(self) -> None:
        async with running_sandbox(channels=[]) as sandbox:
            with pytest.raises(SandboxControlError):
                await sandbox.customer_says(NUMBER, CUSTOMER)
            await sandbox.put_channel(CHANNEL)
            result = await sandbox.customer_sends(NUMBER, CUSTOMER, "location",
                                                  {"latitude": 1.0, "longitude": 2.0})
            assert result.payload["entry"][0]["changes"][0]["value"]["messages"][0][
                "location"] == {"latitude": 1.0, "longitude": 2.0}

    async def test_connect_drives_a_sandbox_started_elsewhere(self) -> None:
        async with running_sandbox() as started, SandboxClient.connect(
                started.base_url) as sandbox:
            channels = await sandbox.channels()
            assert [c.phone_number_id for c in channels] == ["100000000000001"]
            assert channels[0].access_token.get_secret_value() == "sandbox-token"
            assert {t.name for t in await sandbox.templates()} >= {"hello_world",
                                                                     "order_update"}
