"""Meta closes the window while our clock says it is open (issue 13): the whole inbox on the real
stack (Kafka, the database, the four services and the sandbox as Meta).

Meta accepts a free-form send outside its customer-service window (200 and a wamid), then posts
a ``failed`` status carrying 131047. The inbox must then show the message failed and the window
closed (the composer turns template-only), refuse the next free-form send itself, and never
resend the failed one; the customer's next message reopens the window.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.cloud_errors import RE_ENGAGEMENT
from shared.window import TEMPLATE_HINT
from tests.integration.inbox_api.stack import RunningInbox
from tests.integration.inbox_api.test_api import eventually, thread

pytestmark = pytest.mark.integration

# Long enough for any retry the sender could make (its first backoff is well under this).
NO_RESEND_SECONDS = 3.0


async def conversation(http: httpx.AsyncClient, cid: str) -> dict[str, Any]:
    response = await http.get(f"/api/v1/conversations/{cid}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_window_meta_closed_is_closed_in_the_inbox_without_resending(
        inbox: RunningInbox) -> None:
    number = inbox.channel.phone_number_id
    cid = inbox.conversation_id()
    await inbox.customer_says("Hi, is my order on its way?")
    # Meta's clock moves past 24 h; ours does not (clock skew, or Meta counting differently).
    await inbox.sandbox.advance_clock(timedelta(hours=24, minutes=1))
    async with inbox.client() as http:
        assert (await conversation(http, cid))["window"]["open"] is True  # by our clock

        sent = await http.post(f"/api/v1/conversations/{cid}/messages",
                               json={"kind": "text", "text": "Yes, it ships today!"},
                               headers={"Idempotency-Key": "late-reply"})
        assert sent.status_code == 202, sent.text

        # Meta took it (200 and a wamid), then failed it with 131047 in a status webhook.
        async def failed_reply() -> dict[str, Any] | None:
            outbound = [m for m in await thread(http, cid) if m["direction"] == "outbound"]
            return outbound[0] if outbound and outbound[0]["status"] == "failed" else None

        reply = await eventually(failed_reply)
        assert reply["text"] == "Yes, it ships today!"
        assert reply["error"]["code"] == RE_ENGAGEMENT
        assert reply["wamid"]

        # The conversation now says the window is closed, though expires_at (ours) is ahead:
        # the web composer offers approved templates only.
        async def closed() -> dict[str, Any] | None:
            shown = await conversation(http, cid)
            return shown if shown["window"]["open"] is False else None

        shown = await eventually(closed)
        assert datetime.fromisoformat(shown["window"]["expires_at"]) > inbox.clock.now()

        # A second free-form message is refused by the inbox itself, with the hint.
        again = await http.post(f"/api/v1/conversations/{cid}/messages",
                                json={"kind": "text", "text": "Hello?"})
        assert again.status_code == 409, again.text
        refusal = again.json()
        assert (refusal["error"], refusal["reason"]) == ("window_expired", "window_expired")
        assert refusal["hint"] == TEMPLATE_HINT

        # Exactly one send reached Meta: accepted, failed later, never sent again.
        await asyncio.sleep(NO_RESEND_SECONDS)
        [request] = await inbox.sandbox.received(number)
        assert (request.http_status, request.wamid) == (200, reply["wamid"])
        failures = [s for s in await inbox.sandbox.statuses(number, wamid=reply["wamid"])
                    if s.status == "failed"]
        assert failures
        assert {s.error_code for s in failures} == {RE_ENGAGEMENT}

        # The customer writes again (on Meta's clock, after its report): open once more.
        await inbox.customer_says("Thanks, any news?")
        assert (await conversation(http, cid))["window"]["open"] is True
        reopened = await http.post(f"/api/v1/conversations/{cid}/messages",
                                   json={"kind": "text", "text": "It ships today!"})
        assert reopened.status_code == 202, reopened.text

        async def delivered_reply() -> dict[str, Any] | None:
            outbound = [m for m in await thread(http, cid) if m["direction"] == "outbound"
                        and m["text"] == "It ships today!"]
            return outbound[0] if outbound and outbound[0]["status"] in ("delivered",
                                                                         "read") else None

        await eventually(delivered_reply)
