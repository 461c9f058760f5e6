"""The reader the suite relies on: it splits batches, and it fails loudly when pywa cannot read.

Without these, "0 parse failures" could be true of a reader that reads nothing. No sandbox here:
hand-written Meta payloads, signed with the app secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pywa.types.message_status import MessageStatusType
from pywa_async.types.message_status import MessageStatus

from tests.contract.business import (
    APP_SECRET,
    CUSTOMER,
    DISPLAY_PHONE_NUMBER,
    PHONE_NUMBER_ID,
    WABA_ID,
)
from tests.contract.graph_transport import pywa_client
from tests.contract.pywa_reader import PywaParseFailure, PywaReader

BSUID = "US.13491208655302741918"
OTHER = "16505550000"
OTHER_BSUID = "US.99999999999999999999"


@pytest.fixture
async def reader() -> AsyncIterator[PywaReader]:
    async with httpx.AsyncClient() as session:  # never used: the reader makes no request
        yield PywaReader(pywa_client(session))


def envelope(value: dict[str, Any], phone_number_id: str = PHONE_NUMBER_ID) -> dict[str, Any]:
    metadata = {"display_phone_number": DISPLAY_PHONE_NUMBER, "phone_number_id": phone_number_id}
    return {"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": [
        {"field": "messages",
         "value": {"messaging_product": "whatsapp", "metadata": metadata, **value}}]}]}


def status(wamid: str, kind: str, recipient: str = CUSTOMER, **extra: Any) -> dict[str, Any]:
    return {"id": wamid, "status": kind, "timestamp": "1767225600", "recipient_id": recipient,
            **extra}


def signed(payload: dict[str, Any], secret: str = APP_SECRET) -> tuple[bytes, str]:
    body = json.dumps(payload).encode()
    return body, "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class TestBatches:
    async def test_every_status_of_a_batch_is_read_with_its_own_contact(
            self, reader: PywaReader) -> None:
        payload = envelope({
            "contacts": [{"wa_id": CUSTOMER, "user_id": BSUID},
                         {"wa_id": OTHER, "user_id": OTHER_BSUID}],
            "statuses": [status("wamid.A", "sent"), status("wamid.B", "read", OTHER)]})
        updates = await reader.read(*signed(payload))
        assert all(isinstance(u, MessageStatus) for u in updates)
        assert [(u.id, u.status, u.from_user.bsuid) for u in updates] == [  # type: ignore[attr-defined]
            ("wamid.A", MessageStatusType.SENT, BSUID),
            ("wamid.B", MessageStatusType.READ, OTHER_BSUID)]

    async def test_a_failed_status_needs_no_contact(self, reader: PywaReader) -> None:
        error = {"code": 131047, "title": "Re-engagement message",
                 "message": "Re-engagement message", "error_data": {"details": "Window closed"}}
        payload = envelope({"statuses": [status("wamid.F", "failed", errors=[error])]})
        (update,) = await reader.read(*signed(payload))
        assert isinstance(update, MessageStatus)
        assert update.status == MessageStatusType.FAILED
        assert update.from_user.wa_id == CUSTOMER


class TestFailures:
    async def test_a_status_without_its_contact(self, reader: PywaReader) -> None:
        payload = envelope({"statuses": [status("wamid.S", "sent")]})
        with pytest.raises(PywaParseFailure, match="KeyError"):
            await reader.read(*signed(payload))

    async def test_a_value_pywa_does_not_know(self, reader: PywaReader) -> None:
        payload = envelope({"contacts": [{"wa_id": CUSTOMER, "user_id": BSUID}],
                            "statuses": [status("wamid.S", "seen")]})
        with pytest.raises(PywaParseFailure, match="Unknown MessageStatusType"):
            await reader.read(*signed(payload))

    async def test_a_message_pywa_falls_back_on(self, reader: PywaReader) -> None:
        message = {"from": CUSTOMER, "id": "wamid.I", "timestamp": "1767225600",
                   "type": "interactive", "interactive": {"type": "carousel_reply"}}
        payload = envelope({"contacts": [{"wa_id": CUSTOMER, "user_id": BSUID}],
                            "messages": [message]})
        with pytest.raises(PywaParseFailure, match="Fell back"):
            await reader.read(*signed(payload))

    async def test_an_update_for_another_number(self, reader: PywaReader) -> None:
        payload = envelope({"contacts": [{"wa_id": CUSTOMER, "user_id": BSUID}],
                            "statuses": [status("wamid.S", "sent")]},
                           phone_number_id="100000000000002")
        with pytest.raises(PywaParseFailure, match="built 0 typed updates"):
            await reader.read(*signed(payload))

    async def test_a_wrong_signature(self, reader: PywaReader) -> None:
        payload = envelope({"contacts": [{"wa_id": CUSTOMER, "user_id": BSUID}],
                            "statuses": [status("wamid.S", "sent")]})
        body, _ = signed(payload)
        _, other_signature = signed(payload, secret="not-the-app-secret")
        with pytest.raises(PywaParseFailure, match="signature"):
            await reader.read(body, other_signature)
