"""Coexistence: the WhatsApp Business app on the same number as the Cloud API. Pure: no I/O.

Meta's three webhook fields for a number onboarded with its Business app (our payloads follow
Meta's webhook references for each field):

- ``smb_message_echoes``: a message the business sent from the app. ``value.message_echoes[]``
  holds ``{from: <business display number>, to: <customer number>, to_user_id: <BSUID>, id,
  timestamp, type, <type>}``, with ``contacts[]`` naming the customer as on customer messages
  (2026 BSUID shape: ``to_user_id`` and ``contacts[].user_id``; a customer whose number Meta
  hides has no ``to`` and no ``wa_id``). An edit or a deletion made in the app is an echo of
  ``type: "edit"`` (``edit{original_message_id, message{type, <type>}}``) or ``"revoke"``
  (``revoke{original_message_id}``), as the customer's own edits are.
- ``history``: the app's chat history, synced once. ``value.history[]`` holds ``{metadata{phase,
  chunk_order, progress}, threads[{id: <customer number>, messages[{from, to?, id, timestamp,
  type, <type>, history_context{status}}]}]}``. Phase 0 is the last day before onboarding
  (the sync's "now"), phase 1 days 1 to 90, phase 2 days 90 to 180; older messages are not
  synced. Each phase is cut into chunks (``chunk_order`` from 1); ``progress`` is the share of
  the whole sync sent so far, 100 on the last chunk. A business message carries ``to``, a
  customer message does not. A media message is a ``media_placeholder`` without content; when
  it is at most 14 days old a second ``history`` webhook follows with the message whole in
  ``value.messages[]`` (Meta's example shows a customer's; a business one keeps its ``to``: our
  reading). A business that declines to share its history gets one webhook whose
  ``history[0].errors[]`` holds Meta's 2593109.
- ``smb_app_state_sync``: the app's address book. ``value.state_sync[]`` holds ``{type:
  "contact", contact{full_name, first_name, phone_number}, action: "add" | "remove",
  metadata{timestamp}}``; a removal names only the number.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sandbox.identity import Customer
from sandbox.webhooks import envelope, number_value
from shared.channels import Channel

Raw = dict[str, Any]

ECHOES = "smb_message_echoes"
HISTORY = "history"
STATE_SYNC = "smb_app_state_sync"

# (phase, messages younger than this belong to it), oldest phase last.
PHASES: tuple[tuple[int, timedelta], ...] = (
    (0, timedelta(days=1)), (1, timedelta(days=90)), (2, timedelta(days=180)))
MEDIA_CONTENT_DAYS = 14  # a media message's content follows only when at most this old
MEDIA_TYPES = frozenset({"image", "video", "audio", "document", "sticker"})
HISTORY_STATUSES = frozenset({"DELIVERED", "ERROR", "PENDING", "PLAYED", "READ", "SENT"})
DECLINED = {"code": 2593109,
            "title": "History sync is turned off by the business from the WhatsApp Business App",
            "message": "History sync is turned off by the business from the WhatsApp Business App",
            "error_data": {"details": "History sharing is turned off by the business"}}


def business_number(channel: Channel) -> str:
    return channel.display_phone_number or channel.phone_number_id


def echo_item(channel: Channel, customer: Customer, wamid: str, timestamp: int,
              kind: str, content: Any) -> Raw:
    """One ``message_echoes[]`` element: the business wrote ``content`` (a ``kind`` object)."""
    item: Raw = {"from": business_number(channel)}
    if customer.wa_id is not None:
        item["to"] = customer.wa_id
    item["to_user_id"] = customer.user_id
    item.update({"id": wamid, "timestamp": str(timestamp), "type": kind, kind: content})
    return item


def echo_payload(channel: Channel, customer: Customer, item: Raw) -> Raw:
    """The ``smb_message_echoes`` webhook of one echo."""
    return envelope(channel.waba_id, ECHOES, number_value(
        channel, contacts=[customer.contact()], message_echoes=[item]))


def phase_of(age: timedelta) -> int | None:
    """The history phase of a message this old at the sync (None: too old to be synced)."""
    for phase, younger_than in PHASES:
        if age < younger_than:
            return phase
    return None


@dataclass(frozen=True, slots=True)
class HistoryMessage:
    """One message of a synced thread, as built: ``item`` is its thread entry (a placeholder
    for media) and ``media`` its whole message when the content follows."""

    phase: int
    timestamp: int
    item: Raw
    media: Raw | None = None


def history_message(channel: Channel, customer_number: str, *, wamid: str, timestamp: int,
                    age: timedelta, from_business: bool, kind: str, content: Any,
                    status: str) -> HistoryMessage | None:
    """A thread message (None when older than the sync reaches)."""
    phase = phase_of(age)
    if phase is None:
        return None
    head: Raw = {"from": business_number(channel) if from_business else customer_number}
    if from_business:
        head["to"] = customer_number
    head.update({"id": wamid, "timestamp": str(timestamp)})
    whole = {**head, "type": kind, kind: content}
    if kind in MEDIA_TYPES:
        item = {**head, "type": "media_placeholder", "history_context": {"status": status}}
        media = whole if age <= timedelta(days=MEDIA_CONTENT_DAYS) else None
        return HistoryMessage(phase, timestamp, item, media)
    return HistoryMessage(phase, timestamp, {**whole, "history_context": {"status": status}})


def history_payloads(channel: Channel, thread_id: str, messages: Iterable[HistoryMessage],
                     chunk_size: int) -> list[Raw]:
    """The ``history`` webhooks of one thread: phase by phase (0 first), each phase in chunks of
    at most ``chunk_size`` messages (oldest first), then the media contents that follow."""
    ordered = sorted(messages, key=lambda m: (m.phase, m.timestamp))
    total = len(ordered)
    out: list[Raw] = []
    sent = 0
    for phase in sorted({m.phase for m in ordered}):
        in_phase = [m for m in ordered if m.phase == phase]
        for order, start in enumerate(range(0, len(in_phase), chunk_size), start=1):
            chunk = in_phase[start:start + chunk_size]
            sent += len(chunk)
            progress = 100 if sent == total else math.floor(100 * sent / total)
            out.append(_history(channel, [{
                "metadata": {"phase": phase, "chunk_order": order, "progress": progress},
                "threads": [{"id": thread_id, "messages": [m.item for m in chunk]}]}]))
    media = [m.media for m in ordered if m.media is not None]
    if media:
        out.append(envelope(channel.waba_id, HISTORY, number_value(channel, messages=media)))
    return out


def history_declined_payload(channel: Channel) -> Raw:
    """The business declined to share its chat history."""
    return _history(channel, [{"errors": [dict(DECLINED)]}])


def _history(channel: Channel, history: list[Raw]) -> Raw:
    return envelope(channel.waba_id, HISTORY, number_value(channel, history=history))


def state_sync_item(phone_number: str, action: str, timestamp: int, *,
                    full_name: str | None = None, first_name: str | None = None) -> Raw:
    """One ``state_sync[]`` contact; a removal names only the number, as Meta's."""
    contact: Raw = {}
    if action != "remove":
        if full_name is not None:
            contact["full_name"] = full_name
        if first_name is not None:
            contact["first_name"] = first_name
    contact["phone_number"] = phone_number
    return {"type": "contact", "contact": contact, "action": action,
            "metadata": {"timestamp": str(timestamp)}}


def state_sync_payload(channel: Channel, items: Sequence[Raw]) -> Raw:
    return envelope(channel.waba_id, STATE_SYNC, number_value(channel, state_sync=list(items)))
