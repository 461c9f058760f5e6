"""The customer's webhooks that are not messages: marketing preferences and calls. Pure: no I/O.

- ``user_preferences``: the customer stopped or resumed marketing messages from the business.
  ``value.contacts[]`` names them (``{profile{name}, wa_id, user_id}``, as on their messages) and
  ``value.user_preferences[]`` holds ``{wa_id, user_id, detail, category: "marketing_messages",
  value: "stop" | "resume", timestamp}``; ``timestamp`` is an integer here, not a string (Meta's
  example). ``user_id`` in the item is our reading of the 2026 BSUID change (Meta names the
  customer by BSUID wherever it names them by number); a hidden customer has no ``wa_id``.
  :class:`MarketingStops` remembers who stopped: the sandbox then fails a MARKETING template to
  them with 131050 in a ``failed`` status, as Meta reports it.
- ``calls`` (a user-initiated call): ``value.contacts[]`` as above and ``value.calls[]``. First
  ``{id: "wacid...", from, from_user_id, to, event: "connect", timestamp, direction:
  "USER_INITIATED", session{sdp_type: "offer", sdp}}``, then ``{id, from, from_user_id, to,
  event: "terminate", direction, timestamp, status}``: ``COMPLETED`` with ``start_time``,
  ``end_time`` (strings) and ``duration`` (seconds, an integer) when the business answered,
  ``FAILED`` without them when nobody did (a missed call). ``from_user_id`` is our reading, as
  on messages; a hidden customer has no ``from``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from sandbox.identity import Customer
from sandbox.webhooks import envelope, number_value
from shared.channels import Channel

Raw = dict[str, Any]

USER_PREFERENCES = "user_preferences"
CALLS = "calls"
MARKETING_MESSAGES = "marketing_messages"
PREFERENCE_DETAILS = {"stop": "User requested to stop marketing messages",
                      "resume": "User requested to resume marketing messages"}
USER_INITIATED = "USER_INITIATED"
# A minimal RFC 8866 offer: the sandbox carries no audio, the field only has to be there.
SDP_OFFER = ("v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
             "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
             "a=rtpmap:111 opus/48000/2\r\na=sendrecv\r\n")
STOPS_LIMIT = 500_000


def preference_payload(channel: Channel, customer: Customer, value: str, timestamp: int) -> Raw:
    """The ``user_preferences`` webhook: ``value`` is ``stop`` or ``resume``."""
    item: Raw = {}
    if customer.wa_id is not None:
        item["wa_id"] = customer.wa_id
    item.update({"user_id": customer.user_id, "detail": PREFERENCE_DETAILS[value],
                 "category": MARKETING_MESSAGES, "value": value, "timestamp": timestamp})
    return envelope(channel.waba_id, USER_PREFERENCES, number_value(
        channel, contacts=[customer.contact()], user_preferences=[item]))


def _call_head(channel: Channel, customer: Customer, call_id: str) -> Raw:
    head: Raw = {"id": call_id}
    if customer.wa_id is not None:
        head["from"] = customer.wa_id
    head["from_user_id"] = customer.user_id
    head["to"] = channel.display_phone_number or channel.phone_number_id
    return head


def connect_item(channel: Channel, customer: Customer, call_id: str, timestamp: int) -> Raw:
    """The customer calls the business number (it rings)."""
    return {**_call_head(channel, customer, call_id), "event": "connect",
            "timestamp": str(timestamp), "direction": USER_INITIATED,
            "session": {"sdp_type": "offer", "sdp": SDP_OFFER}}


def terminate_item(channel: Channel, customer: Customer, call_id: str, timestamp: int, *,
                   answered_at: int | None) -> Raw:
    """The call ended at ``timestamp``: COMPLETED if answered (at ``answered_at``), else FAILED."""
    item: Raw = {**_call_head(channel, customer, call_id), "event": "terminate",
                 "direction": USER_INITIATED, "timestamp": str(timestamp),
                 "status": "FAILED" if answered_at is None else "COMPLETED"}
    if answered_at is not None:
        item.update({"start_time": str(answered_at), "end_time": str(timestamp),
                     "duration": timestamp - answered_at})
    return item


def call_payload(channel: Channel, customer: Customer, item: Raw) -> Raw:
    return envelope(channel.waba_id, CALLS, number_value(
        channel, contacts=[customer.contact()], calls=[item]))


class MarketingStops:
    """Who stopped marketing messages from which business number (the last ``limit``)."""

    def __init__(self, limit: int = STOPS_LIMIT) -> None:
        self.limit = limit
        self._stopped: OrderedDict[tuple[str, str], None] = OrderedDict()

    def __bool__(self) -> bool:
        return bool(self._stopped)

    def set(self, phone_number_id: str, keys: set[str], value: str) -> None:
        """``value`` ``stop`` or ``resume`` for the customer ``keys`` name (number and BSUID)."""
        for key in keys:
            if value == "stop":
                self._stopped[(phone_number_id, key)] = None
                if len(self._stopped) > self.limit:
                    self._stopped.popitem(last=False)
            else:
                self._stopped.pop((phone_number_id, key), None)

    def stopped(self, phone_number_id: str, key: str) -> bool:
        return (phone_number_id, key) in self._stopped

    def clear(self) -> None:
        self._stopped.clear()
