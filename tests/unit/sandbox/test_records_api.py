"""The record of emitted webhooks through the control API and the test client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from devstack.process import free_port
from sandbox.identity import bsuid_for
from sandbox.main import create_app
from sandbox.service import Sandbox
from sandbox.settings import SandboxSettings
from sandbox.testing import SandboxControlError, running_sandbox
from shared.channels import Channel
from tests.unit.sandbox.fakes import FakeTransport, ManualClock, ManualMonotonic, WithState

NUMBER = "100000000000001"
CUSTOMER = "16505551234"
TOKEN = "secret-token"
CHANNEL = Channel(phone_number_id=NUMBER, display_phone_number="15550001111",
                  access_token=SecretStr(TOKEN), throughput_mps=50, waba_id="200000000000001",
                  tenant_id="acme")


class Api:
    def __init__(self, http: httpx.AsyncClient, sandbox: Sandbox,
                 transport: FakeTransport) -> None:
        self.http = http
        self.sandbox = sandbox
        self.transport = transport

    async def customer_says(self) -> dict[str, Any]:
        response = await self.http.post("/_sandbox/customer-messages", json={
            "phone_number_id": NUMBER, "from": CUSTOMER, "type": "text", "content": "hi"})
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    async def send_text(self, **extra: Any) -> str:
        response = await self.http.post(
            f"/v25.0/{NUMBER}/messages", headers={"Authorization": f"Bearer {TOKEN}"},
            json={"messaging_product": "whatsapp", "to": CUSTOMER, "type": "text",
                  "text": {"body": "hello"}, **extra})
        assert response.status_code == 200, response.text
        wamid: str = response.json()["messages"][0]["id"]
        return wamid

    async def get(self, path: str, **params: Any) -> Any:
        response = await self.http.get(f"/_sandbox{path}", params=params)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    settings = SandboxSettings(
        channels=[CHANNEL], webhook_url=None, sent_delay_seconds=0, delivered_delay_seconds=0,
        read_delay_seconds=0, delay_jitter=0, webhook_batch_interval_seconds=0.001,
        webhook_retry_base_seconds=0.001, random_seed=1)
    transport = FakeTransport()
    app = create_app(settings, clock=ManualClock(), monotonic=ManualMonotonic(),
                     webhook_transport=transport)
    async with app.api.router.lifespan_context(app.api) as state:
        assert state is not None
        asgi = httpx.ASGITransport(app=WithState(app, dict(state)))
        async with httpx.AsyncClient(transport=asgi, base_url="http://sandbox") as http:
            yield Api(http, state["sandbox"], transport)


class TestStatusesEndpoint:
    async def test_lists_every_status_emitted_with_its_delivery(self, api: Api) -> None:
        await api.customer_says()
        wamid = await api.send_text(biz_opaque_callback_data="cmd-42")
        assert await api.sandbox.dispatcher.wait_idle(timeout=10)
        data = await api.get("/statuses", phone_number_id=NUMBER)
        assert data["total"] == 3
        assert [(s["wamid"], s["status"], s["callback_data"], s["recipient_wa_id"],
                 s["delivered"], s["attempts"], s["dropped"]) for s in data["items"]] == [
            (wamid, status, "cmd-42", CUSTOMER, True, 1, False)
            for status in ("sent", "delivered", "read")]
        assert [s["seq"] for s in (await api.get("/statuses", after_seq=2))["items"]] == [3]
        assert (await api.get("/statuses", phone_number_id="other"))["items"] == []
        assert len((await api.get("/statuses", wamid=wamid))["items"]) == 3
        bsuid = bsuid_for(CHANNEL.waba_id, CUSTOMER)
        assert {s["recipient_user_id"] for s in data["items"]} == {bsuid}

    async def test_a_failed_status_carries_its_error_code(self, api: Api) -> None:
        await api.customer_says()
        response = await api.http.post(f"/_sandbox/faults/{NUMBER}",
                                       json={"kind": "status_failed", "code": 131026})
        assert response.status_code == 201
        await api.send_text()
        (status,) = (await api.get("/statuses"))["items"]
        assert (status["status"], status["error_code"]) == ("failed", 131026)
        assert status["recipient_user_id"] is None  # Meta's failed status to a number has none

    async def test_reset_forgets_them(self, api: Api) -> None:
        await api.customer_says()
        await api.send_text()
        assert (await api.http.post("/_sandbox/reset")).status_code == 204
        assert (await api.get("/statuses"))["items"] == []
        assert (await api.get("/customer-messages"))["items"] == []


class TestCustomerMessagesEndpoint:
    async def test_a_refused_post_is_retried_and_the_record_shows_how_it_ended(
            self, api: Api) -> None:
        api.transport.answers = [503]
        said = await api.customer_says()
        assert said["webhook_status"] == 503
        assert await api.sandbox.dispatcher.wait_idle(timeout=10)
        (record,) = (await api.get("/customer-messages", phone_number_id=NUMBER))["items"]
        assert (record["wamid"], record["from_wa_id"], record["type"], record["webhook_status"],
                record["attempts"], record["delivered"], record["dropped"]) == (
            said["wamid"], CUSTOMER, "text", 200, 2, True, False)


class TestRetryBudgetThroughBehaviour:
    async def test_patch_sets_it_and_get_shows_it(self, api: Api) -> None:
        response = await api.http.patch("/_sandbox/behaviour", json={
            "webhook_retry_seconds": 120, "webhook_retry_max_seconds": 2,
            "duplicate_probability": 0.5})
        assert response.status_code == 200, response.text
        assert response.json()["webhook_retry_seconds"] == 120
        shown = await api.get("/behaviour")
        assert (shown["webhook_retry_seconds"], shown["webhook_retry_max_seconds"],
                shown["webhook_max_attempts"], shown["duplicate_probability"]) == (120, 2, 6, 0.5)
        assert api.sandbox.dispatcher.options.retry_seconds == 120
        assert api.sandbox.dispatcher.options.retry_max == 2

    @pytest.mark.parametrize("body", [{"webhook_retry_seconds": -5},
                                      {"webhook_max_attempts": 0},
                                      {"webhook_retry_seconds": 10, "no_such_field": 1}])
    async def test_bad_values_are_refused_and_change_nothing(self, api: Api,
                                                             body: dict[str, Any]) -> None:
        response = await api.http.patch("/_sandbox/behaviour", json=body)
        assert response.status_code == 400
        assert api.sandbox.dispatcher.options.retry_seconds is None

    async def test_unset_again_with_null(self, api: Api) -> None:
        await api.http.patch("/_sandbox/behaviour", json={"webhook_retry_seconds": 60})
        response = await api.http.patch("/_sandbox/behaviour",
                                        json={"webhook_retry_seconds": None})
        assert response.json()["webhook_retry_seconds"] is None


class TestClient:
    async def test_running_sandbox_takes_the_retry_budget(self) -> None:
        async with running_sandbox(webhook_retry_seconds=90) as sandbox:
            assert (await sandbox.configure())["webhook_retry_seconds"] == 90

    async def test_statuses_and_customer_messages_of_an_unreachable_webhook(self) -> None:
        # Nothing listens on the webhook URL: everything is recorded, tried, not delivered.
        url = f"http://127.0.0.1:{free_port()}/webhook"
        async with running_sandbox(channels=[CHANNEL], webhook_url=url, sent_delay_seconds=0,
                                   delivered_delay_seconds=0, read_delay_seconds=0,
                                   webhook_max_attempts=2,
                                   webhook_retry_base_seconds=0.01) as sandbox:
            behaviour = await sandbox.configure(webhook_retry_max_seconds=0.02)
            assert behaviour["webhook_retry_seconds"] is None
            said = await sandbox.customer_says(NUMBER, CUSTOMER, "hi")
            assert said.webhook_status is None
            async with httpx.AsyncClient() as http:
                response = await http.post(
                    sandbox.messages_url(NUMBER), headers={"Authorization": f"Bearer {TOKEN}"},
                    json={"messaging_product": "whatsapp", "to": CUSTOMER, "type": "text",
                          "text": {"body": "hello"}, "biz_opaque_callback_data": "cmd-1"})
            wamid = response.json()["messages"][0]["id"]
            await sandbox.wait_webhooks_idle(timeout=20)

            statuses = await sandbox.statuses(NUMBER)
            assert sorted(s.status for s in statuses) == ["delivered", "read", "sent"]
            assert {(s.wamid, s.callback_data, s.delivered, s.dropped, s.attempts)
                    for s in statuses} == {(wamid, "cmd-1", False, True, 2)}
            assert await sandbox.statuses("other") == []
            assert len(await sandbox.statuses(wamid=wamid)) == 3
            (record,) = await sandbox.customer_messages()
            assert (record.wamid, record.delivered, record.dropped, record.attempts,
                    record.webhook_status) == (said.wamid, False, True, 2, None)
            stats = await sandbox.stats()
            assert (stats["webhooks"]["statuses"], stats["webhooks"]["customer_messages"]) == (
                3, 1)
            with pytest.raises(SandboxControlError):
                await sandbox.configure(webhook_retry_seconds="soon")
