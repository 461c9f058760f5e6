"""Events of issue 15 for the fold's tests: edits and deletions (Meta's current shape, as
webhook_ingest emits it), echoes of the WhatsApp Business app, history syncs, calls and the app's
contact sync. Explicit times, like builders.py."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from shared.events import (
    AppContact,
    AppContactSynced,
    Call,
    CallUpdated,
    CustomerProfile,
    InboundMessage,
    MessageEchoed,
    MessageReceived,
)
from shared.events.base import Event
from tests.unit.conversation_store.builders import CID, CUSTOMER, NUMBER_ID, TENANT, at
from tests.unit.conversation_store.fakes import Feeder


def _payload(wamid: str, t: float, message_type: str, content: dict[str, Any], preview: str,
             **extra: Any) -> InboundMessage:
    return InboundMessage(
        wamid=wamid, message_type=message_type, sent_at=at(t),
        business_phone_number_id=NUMBER_ID, from_wa_id=CUSTOMER,
        customer=CustomerProfile(wa_id=CUSTOMER, name="Ana"),
        content=content, preview=preview, **extra)


def text(wamid: str, t: float, body: str, *, history: bool = False) -> MessageReceived:
    """A customer's text (``history``: from the app's history sync)."""
    return MessageReceived(occurred_at=at(t + 1), tenant_id=TENANT, conversation_id=CID,
                           payload=_payload(wamid, t, "text", {"body": body}, body,
                                            history=history))


def edit(wamid: str, target: str, t: float, body: str, *, echo: bool = False) -> Event:
    """An edit as webhook_ingest emits it: ``original_wamid`` and the new content."""
    payload = _payload(wamid, t, "edit", {"body": body}, body, original_wamid=target,
                       edited_type="text")
    cls = MessageEchoed if echo else MessageReceived
    return cls(occurred_at=at(t + 1), tenant_id=TENANT, conversation_id=CID, payload=payload)


def revoke(wamid: str, target: str, t: float, *, echo: bool = False) -> Event:
    payload = _payload(wamid, t, "revoke", {"original_message_id": target}, "",
                       original_wamid=target)
    cls = MessageEchoed if echo else MessageReceived
    return cls(occurred_at=at(t + 1), tenant_id=TENANT, conversation_id=CID, payload=payload)


def echo(wamid: str, t: float, body: str, *, history: bool = False) -> MessageEchoed:
    """A text the business sent from the WhatsApp Business app (the payload names the
    customer)."""
    return MessageEchoed(occurred_at=at(t + 1), tenant_id=TENANT, conversation_id=CID,
                         payload=_payload(wamid, t, "text", {"body": body}, body,
                                          history=history).model_copy(
                                              update={"customer": None}))


def call(call_id: str, t: float, event: str, *, direction: str | None = "USER_INITIATED",
         status: str | None = None, duration: int | None = None, started: float | None = None,
         ended: float | None = None) -> CallUpdated:
    return CallUpdated(
        occurred_at=at(t + 1), tenant_id=TENANT, conversation_id=CID,
        payload=Call(call_id=call_id, business_phone_number_id=NUMBER_ID, wa_id=CUSTOMER,
                     direction=direction, event=event, status=status, at=at(t),
                     started_at=at(started) if started is not None else None,
                     ended_at=at(ended) if ended is not None else None,
                     duration_seconds=duration))


def app_contact(t: float, action: str, name: str | None = None) -> AppContactSynced:
    return AppContactSynced(
        occurred_at=at(t + 1), tenant_id=TENANT, conversation_id=CID,
        payload=AppContact(business_phone_number_id=NUMBER_ID, wa_id=CUSTOMER, full_name=name,
                           action=action, at=at(t)))


def state(feeder: Feeder) -> dict[str, Any]:
    """The documents without what records how they were written: versions, positions, the
    first event's arrival (created_at), and the unread bookkeeping's arrival order."""
    conversations = {}
    for cid, doc in feeder.repository.conversations.items():
        kept = {k: v for k, v in doc.items() if k not in ("version", "created_at")}
        kept["fold"] = {k: v for k, v in doc["fold"].items() if k != "positions"}
        kept["fold"]["unread"] = sorted(kept["fold"]["unread"], key=lambda u: u["wamid"])
        conversations[cid] = kept
    messages = {mid: {k: v for k, v in doc.items() if k != "version"}
                for mid, doc in feeder.repository.messages.items()}
    return {"conversations": conversations, "messages": messages}


async def every_order(events: Sequence[Event]) -> dict[str, Any]:
    """Folds every order of ``events``, in batches of 1 to 3, through the thread cache and
    without; asserts they all give the same documents, and returns them."""
    expected: dict[str, Any] | None = None
    for n, order in enumerate(itertools.permutations(events)):
        feeder = Feeder(cached=n % 2 == 0)
        await feeder.feed(*order, batch=1 + n % 3)
        got = state(feeder)
        if expected is None:
            expected = got
        assert got == expected, [type(e).__name__ + ":" + _name(e) for e in order]
    assert expected is not None
    return expected


def _name(event: Event) -> str:
    payload = getattr(event, "payload", None)
    return str(getattr(payload, "wamid", None) or getattr(payload, "call_id", "") or "")
