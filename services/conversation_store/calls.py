"""Calls: one thread line per WhatsApp call (issue 15). Pure.

Meta reports a call in pieces (``field: "calls"``): ``connect`` when it rings, ``status``
(RINGING, ACCEPTED, REJECTED; for calls the business places) and ``terminate`` (COMPLETED or
FAILED, with start and end times and the duration). webhook_ingest emits each as CallUpdated.
The line (``_id`` ``{conversation}/call:{call_id}``, ``message_type`` "call", ``direction``
"system", its state in ``call``) keeps every report once and is derived from all of them
together, so the reports in any order, duplicates included, give the same line.

- What the line says (:func:`call_text`): "Missed call", "Call answered · 3 min 12 s",
  "Outgoing call · not answered", ... A call is answered when a report says ACCEPTED or a
  duration above zero; it is over once a ``terminate`` came.
- Its place in the thread is its earliest known time (the call began).
- **The window.** Meta: "A user message or call opens a customer service window" (and each
  further one resets it; /work/shared/whatsapp-cloud-api.md §6). So a call the customer placed
  (USER_INITIATED), answered or missed, is customer activity: ``last_inbound_at`` becomes at
  least the time of its latest report. Meta does not say whether the window runs from a call's
  start or its end; the latest report is the one time that is the same in any order (a maximum),
  and if Meta counts from the start our window may outlast Meta's by the call's length, which
  131047 then corrects (``window_closed_at``). A call the business placed opens nothing.
- **The list.** A call is activity: each report moves the list's last message to the call line
  (at the report's time) when it is the newest thing, and the preview follows the line while it
  is the last message. Calls are not unread (MarkRead works by message wamids; a call has none).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Literal

from services.conversation_store.conversations import ensure_conversation
from services.conversation_store.documents import (
    CallEvent,
    CallLine,
    Conversation,
    Message,
    ms,
    sort_key,
)
from services.conversation_store.thread import Step, Thread
from shared.events import CallUpdated
from shared.window import window_expires_at

DIRECTIONS: dict[str, Literal["inbound", "outbound"]] = {
    "USER_INITIATED": "inbound", "BUSINESS_INITIATED": "outbound"}


def call_message_id(conversation_id: str, call_id: str) -> str:
    return f"{conversation_id}/call:{call_id}"


def call_updated(event: CallUpdated, thread: Thread, step: Step) -> Thread:
    p = event.payload
    conversation = ensure_conversation(thread, event, p.business_phone_number_id)
    mid = call_message_id(thread.id, p.call_id)
    before = thread.messages.get(mid)
    report = CallEvent(
        event=(p.event or "status").lower(), status=p.status.upper() if p.status else None,
        at=ms(p.at), direction=p.direction.upper() if p.direction else None,
        started_at=ms(p.started_at) if p.started_at else None,
        ended_at=ms(p.ended_at) if p.ended_at else None, duration_seconds=p.duration_seconds)
    if before is not None and before.call is not None and report in before.call.events:
        return thread  # a duplicate report
    events = sorted([*(before.call.events if before and before.call else []), report],
                    key=_event_key)
    line = call_line(p.call_id, events)
    message = _line_message(mid, conversation, p.business_phone_number_id, line)
    if before is not None:
        message = message.model_copy(update={"version": before.version})
    if step.fresh:
        conversation = on_call_report(conversation, message, report)
    conversation = shown_call(conversation, message)
    return replace(thread, conversation=conversation, messages={**thread.messages, mid: message})


def call_line(call_id: str, events: list[CallEvent]) -> CallLine:
    """What the reports of one call say together (the same whatever their order)."""
    direction = next((DIRECTIONS[e.direction] for e in events if e.direction in DIRECTIONS),
                     None)
    statuses = {e.status for e in events if e.status}
    durations = [e.duration_seconds for e in events if e.duration_seconds is not None]
    started = min((e.started_at for e in events if e.started_at), default=None)
    ended = max((e.ended_at for e in events if e.ended_at), default=None)
    duration = max(durations) if durations else (
        int((ended - started).total_seconds()) if started and ended and ended > started
        else None)
    answered = "ACCEPTED" in statuses or (duration or 0) > 0
    over = any(e.event == "terminate" for e in events)
    if not over:
        outcome = "ongoing" if answered else "ringing"
    elif answered:
        outcome = "answered"
    elif "REJECTED" in statuses:
        outcome = "declined"
    else:
        outcome = "unanswered" if direction == "outbound" else "missed"
    return CallLine(call_id=call_id, direction=direction, outcome=outcome, started_at=started,
                    ended_at=ended, duration_seconds=duration, events=events)


def call_text(line: CallLine) -> str:
    """The line as the thread and the list show it."""
    length = f" · {duration_text(line.duration_seconds)}" if line.duration_seconds else ""
    if line.direction == "outbound":
        return "Outgoing call" + {
            "ringing": " · ringing", "ongoing": " · in progress", "answered": length,
            "declined": " · declined", "unanswered": " · not answered",
        }.get(line.outcome, "")
    return {
        "ringing": "Incoming call", "ongoing": "Call in progress",
        "answered": f"Call answered{length}", "declined": "Declined call",
        "missed": "Missed call",
    }.get(line.outcome, "Call")


def duration_text(seconds: int | None) -> str:
    """``3 min 12 s``, ``45 s``, ``1 h 2 min``."""
    if not seconds or seconds < 0:
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def on_call_report(conversation: Conversation, message: Message,
                   report: CallEvent) -> Conversation:
    """One report's effects on the conversation: the window (a customer's call) and the list."""
    line = message.call
    assert line is not None
    updates: dict[str, object] = {}
    if line.direction == "inbound":
        latest = max(e.at for e in line.events)
        if conversation.last_inbound_at is None or latest > conversation.last_inbound_at:
            updates.update(last_inbound_at=latest, window_expires_at=window_expires_at(latest))
    key = sort_key(report.at, report.at, f"call:{line.call_id}")
    current = conversation.last_message_sort_key
    if current is None or key > current:
        updates.update(last_message_id=message.id, last_message_at=report.at,
                       last_message_sort_key=key, last_activity_at=report.at)
    return conversation.model_copy(update=updates) if updates else conversation


def shown_call(conversation: Conversation, message: Message) -> Conversation:
    """While the call is the list's last message, its preview and side follow the line."""
    if conversation.last_message_id != message.id or message.call is None:
        return conversation
    side = "outbound" if message.call.direction == "outbound" else "inbound"
    if (conversation.last_message_preview, conversation.last_message_direction) == (
            message.preview, side):
        return conversation
    return conversation.model_copy(update={"last_message_preview": message.preview,
                                           "last_message_direction": side})


def _line_message(mid: str, conversation: Conversation, number_id: str,
                  line: CallLine) -> Message:
    began = _began(line)
    return Message(
        id=mid, tenant_id=conversation.tenant_id, conversation_id=conversation.id,
        business_phone_number_id=number_id, direction="system", message_type="call",
        content={}, preview=call_text(line), sent_at=began, received_at=began,
        sort_key=sort_key(began, began, f"call:{line.call_id}"), status="received",
        status_at=began, call=line)


def _began(line: CallLine) -> datetime:
    times = [e.at for e in line.events] + [e.started_at for e in line.events if e.started_at]
    return min(times)


def _event_key(e: CallEvent) -> tuple[datetime, str, str, str]:
    return e.at, e.event or "", e.status or "", e.direction or ""
