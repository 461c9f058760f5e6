"""Events of issue 15 as webhook_ingest publishes them on ``whatsapp.inbound.v1`` (edits and
deletions, echoes of the WhatsApp Business app, calls, statuses), for the integration tests that
publish them straight to Kafka: the real store folds them, the real inbox_api serves them."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from shared.config import InfraSettings
from shared.events import (
    Call,
    CallUpdated,
    CustomerProfile,
    InboundMessage,
    MessageEchoed,
    MessageReceived,
    MessageStatusChanged,
    StatusUpdate,
)
from shared.events.base import Event
from shared.events.topics import WHATSAPP_INBOUND
from shared.kafka import publish
from tests.integration.inbox_api.stack import RunningInbox

DEADLINE_SECONDS = 60.0


class Customer:
    """One customer of acme's number, and the events about their conversation."""

    def __init__(self, inbox: RunningInbox, wa_id: str, name: str) -> None:
        self.inbox = inbox
        self.wa_id = wa_id
        self.name = name
        self.cid = inbox.conversation_id(wa_id)

    def _message(self, wamid: str, at: datetime, message_type: str, content: dict[str, Any],
                 preview: str, **fields: Any) -> InboundMessage:
        return InboundMessage(
            wamid=wamid, message_type=message_type, sent_at=at,
            business_phone_number_id=self.inbox.channel.phone_number_id,
            from_wa_id=self.wa_id, customer=CustomerProfile(wa_id=self.wa_id, name=self.name),
            content=content, preview=preview, **fields)

    def _envelope(self, at: datetime) -> dict[str, Any]:
        return {"occurred_at": at + timedelta(seconds=1),
                "tenant_id": self.inbox.channel.tenant_id, "conversation_id": self.cid}

    def says(self, wamid: str, at: datetime, text: str) -> MessageReceived:
        return MessageReceived(**self._envelope(at),
                               payload=self._message(wamid, at, "text", {"body": text}, text))

    def edits(self, wamid: str, target: str, at: datetime, text: str, *,
              app: bool = False) -> Event:
        payload = self._message(wamid, at, "edit", {"body": text}, text, original_wamid=target,
                                edited_type="text")
        if app:
            return MessageEchoed(**self._envelope(at), payload=payload)
        return MessageReceived(**self._envelope(at), payload=payload)

    def deletes(self, wamid: str, target: str, at: datetime) -> MessageReceived:
        return MessageReceived(**self._envelope(at), payload=self._message(
            wamid, at, "revoke", {"original_message_id": target}, "", original_wamid=target))

    def app_sends(self, wamid: str, at: datetime, text: str) -> MessageEchoed:
        """A text the business sent to this customer from the WhatsApp Business app."""
        return MessageEchoed(**self._envelope(at), payload=self._message(
            wamid, at, "text", {"body": text}, text).model_copy(update={"customer": None}))

    def status(self, wamid: str, at: datetime, status: str) -> MessageStatusChanged:
        return MessageStatusChanged(**self._envelope(at), payload=StatusUpdate(
            wamid=wamid, status=status, at=at,
            business_phone_number_id=self.inbox.channel.phone_number_id,
            recipient_wa_id=self.wa_id))

    def calls(self, call_id: str, at: datetime, event: str, **fields: Any) -> CallUpdated:
        return CallUpdated(**self._envelope(at), payload=Call(
            call_id=call_id, business_phone_number_id=self.inbox.channel.phone_number_id,
            wa_id=self.wa_id, direction="USER_INITIATED", event=event, at=at, **fields))


async def send(settings: InfraSettings, producer: Any, *events: Event) -> None:
    await publish(producer, settings.topic(WHATSAPP_INBOUND), list(events))


async def conversation_stored(inbox: RunningInbox, cid: str, **match: Any) -> dict[str, Any]:
    """The conversation document once it matches ``match`` (polling, as stack.py does)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_SECONDS
    while True:
        doc = await inbox.db["conversations"].find_one({"_id": cid, **match})
        if doc is not None:
            return doc
        if loop.time() > deadline:
            raise TimeoutError(f"conversation {cid} never matched {match}")
        await asyncio.sleep(0.05)
