"""Opening a thread and typing (issue 15 item 3), on the real app over fakes: the server picks
the customer's newest message, the tenant's setting decides whether WhatsApp hears of it, and the
typing indicator is refused outside the window and asked at most once per 10 s."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.inbox_api.accounts.tenants import TenantSettings
from shared.events import MarkRead, ShowTyping
from tests.unit.inbox_api.fakes import GLOBEX_KEY, Wiring

OPEN = "1001:16505550123"
CLOSED = "1001:447700900001"


def message(wamid: str, sort_key: str, direction: str = "inbound", *,
            cid: str = OPEN, visible: bool = True) -> dict[str, Any]:
    return {"_id": f"{cid}/{wamid}", "tenant_id": "acme", "conversation_id": cid,
            "business_phone_number_id": "1001", "wamid": wamid, "direction": direction,
            "visible": visible, "sort_key": sort_key, "message_type": "text"}


@pytest.fixture
def thread(wiring: Wiring) -> Wiring:
    """The customer wrote twice, the agent answered after the first, a reaction came last."""
    wiring.repository.messages += [
        message("wamid.in1", "1"), message("wamid.out1", "2", "outbound"),
        message("wamid.in2", "3"), message("wamid.out2", "4", "outbound"),
        message("wamid.reaction", "5", visible=False)]
    return wiring


class TestOpeningAThread:
    async def test_the_server_names_the_customers_newest_message(
            self, http: httpx.AsyncClient, thread: Wiring) -> None:
        response = await http.post(f"/api/v1/conversations/{OPEN}/read")
        assert response.status_code == 202, response.text
        [command] = thread.publisher.published
        assert isinstance(command, MarkRead)
        assert (command.message_wamid, command.send_receipt) == ("wamid.in2", True)

    async def test_a_named_message_must_be_the_customers(
            self, http: httpx.AsyncClient, thread: Wiring) -> None:
        named = await http.post(f"/api/v1/conversations/{OPEN}/read",
                                json={"message_id": "wamid.in1"})
        assert named.status_code == 202
        [first] = thread.publisher.published
        assert isinstance(first, MarkRead)
        assert first.message_wamid == "wamid.in1"
        ours = await http.post(f"/api/v1/conversations/{OPEN}/read",
                               json={"message_id": "wamid.out2"})
        assert ours.status_code == 422
        assert ours.json()["error"] == "not_a_customer_message"
        assert len(thread.publisher.published) == 1

    async def test_with_read_receipts_off_only_unread_clears(
            self, http: httpx.AsyncClient, thread: Wiring) -> None:
        thread.repository.settings["acme"] = TenantSettings(read_receipts=False)
        assert (await http.post(f"/api/v1/conversations/{OPEN}/read")).status_code == 202
        [command] = thread.publisher.published
        assert isinstance(command, MarkRead)
        assert (command.message_wamid, command.send_receipt) == ("wamid.in2", False)

    async def test_the_setting_is_shown_to_the_team(self, http: httpx.AsyncClient,
                                                    wiring: Wiring) -> None:
        assert (await http.get("/api/v1/me")).json()["settings"] == {"read_receipts": True}
        wiring.repository.settings["acme"] = TenantSettings(read_receipts=False)
        assert (await http.get("/api/v1/me")).json()["settings"] == {"read_receipts": False}


class TestTyping:
    async def test_shows_typing_on_the_newest_customer_message(
            self, http: httpx.AsyncClient, thread: Wiring) -> None:
        response = await http.post(f"/api/v1/conversations/{OPEN}/typing")
        assert response.status_code == 202, response.text
        [command] = thread.publisher.published
        assert isinstance(command, ShowTyping)
        assert (command.message_wamid, command.actor_id) == ("wamid.in2", "ana")

    async def test_again_within_ten_seconds_is_429_with_retry_after(
            self, http: httpx.AsyncClient, thread: Wiring) -> None:
        assert (await http.post(f"/api/v1/conversations/{OPEN}/typing")).status_code == 202
        again = await http.post(f"/api/v1/conversations/{OPEN}/typing")
        assert again.status_code == 429
        assert again.json()["error"] == "typing_too_soon"
        assert again.headers["Retry-After"] == "10"
        assert len(thread.publisher.published) == 1

    async def test_a_closed_window_is_409(self, http: httpx.AsyncClient,
                                          thread: Wiring) -> None:
        thread.repository.messages.append(message("wamid.old", "1", cid=CLOSED))
        response = await http.post(f"/api/v1/conversations/{CLOSED}/typing")
        assert response.status_code == 409
        assert response.json()["error"] == "window_expired"
        assert thread.publisher.published == []

    async def test_read_receipts_off_is_409(self, http: httpx.AsyncClient,
                                            thread: Wiring) -> None:
        thread.repository.settings["acme"] = TenantSettings(read_receipts=False)
        response = await http.post(f"/api/v1/conversations/{OPEN}/typing")
        assert response.status_code == 409
        assert response.json()["error"] == "read_receipts_off"
        assert thread.publisher.published == []

    async def test_no_customer_message_is_409(self, http: httpx.AsyncClient,
                                              wiring: Wiring) -> None:
        response = await http.post(f"/api/v1/conversations/{OPEN}/typing")
        assert response.status_code == 409
        assert response.json()["error"] == "no_customer_message"

    async def test_another_tenants_conversation_is_404(self, http: httpx.AsyncClient,
                                                       thread: Wiring) -> None:
        response = await http.post(f"/api/v1/conversations/{OPEN}/typing",
                                   headers={"Authorization": f"Bearer {GLOBEX_KEY}"})
        assert response.status_code == 404
        assert thread.publisher.published == []
