"""What the sandbox remembers and reports through its control API."""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict


class ReceivedRequest(BaseModel):
    """One request to ``/{version}/{phone_number_id}/messages`` and how the sandbox answered."""

    model_config = ConfigDict(frozen=True)

    seq: int
    phone_number_id: str
    at: AwareDatetime  # on the sandbox's clock
    body: Any  # the JSON body as sent (None when it was not JSON)
    http_status: int
    wamid: str | None = None  # set when the message was accepted
    error_code: int | None = None
    fault: str | None = None  # the injected fault that shaped the answer, if any

    @property
    def accepted(self) -> bool:
        return self.wamid is not None

    @property
    def marks_read(self) -> bool:
        """A mark-as-read the sandbox answered ``{"success": true}`` (typing or not)."""
        body = self.body
        return (self.http_status == 200 and isinstance(body, dict)
                and body.get("status") == "read" and isinstance(body.get("message_id"), str))

    @property
    def is_read_receipt(self) -> bool:
        """An answered mark-as-read without a typing indicator: blue ticks only."""
        return self.marks_read and self.body.get("typing_indicator") is None

    @property
    def is_typing_indicator(self) -> bool:
        """An answered mark-as-read with ``typing_indicator``: "typing..." (and blue ticks)."""
        return self.marks_read and self.body.get("typing_indicator") is not None

    @property
    def read_message_id(self) -> str | None:
        """The wamid a mark-as-read or typing indicator was about."""
        return str(self.body["message_id"]) if self.marks_read else None


class InboundResult(BaseModel):
    """A simulated customer message: its wamid and how the webhook POST went."""

    model_config = ConfigDict(frozen=True)

    wamid: str
    phone_number_id: str
    from_wa_id: str  # "" when Meta hides the customer's number (``from_user_id`` only)
    timestamp: AwareDatetime
    # HTTP status of the first webhook POST (None: no webhook URL, or it could not connect).
    # A failed first POST is retried in the background: ``SandboxClient.customer_messages()``
    # tells how it ended.
    webhook_status: int | None
    payload: dict[str, Any]
    from_user_id: str | None = None  # the customer's BSUID (None for a non-number sender)


class Posted(BaseModel):
    """What a control call that posts webhooks other than customer messages did: the id of what
    happened (an echo's wamid, a call's id; None for account events), and each webhook body it
    posted with the HTTP status of its first POST (None: no webhook URL, or unreachable; a
    failed POST is retried in the background like any other)."""

    model_config = ConfigDict(frozen=True)

    id: str | None = None
    webhook_statuses: list[int | None]
    payloads: list[dict[str, Any]]

    @property
    def webhook_status(self) -> int | None:
        """The first POST's status (most calls post one webhook)."""
        return self.webhook_statuses[0] if self.webhook_statuses else None


class EmittedStatus(BaseModel):
    """One status webhook item the sandbox emitted (scheduled), and how its delivery went.

    ``delivered``: a webhook POST carrying it was answered 2xx; ``attempts``: POSTs tried;
    ``dropped``: given up (retries exhausted, or the queue was full: then ``attempts`` is 0).
    A duplicated status (``duplicate_probability``) is emitted, and listed, twice.
    """

    model_config = ConfigDict(frozen=True)

    seq: int
    wamid: str
    phone_number_id: str
    recipient_wa_id: str
    status: str  # sent, delivered, read, failed
    at: AwareDatetime  # when it happened, on the sandbox's clock (the webhook's timestamp)
    callback_data: str | None = None  # biz_opaque_callback_data of the send, echoed
    error_code: int | None = None  # of a failed status
    delivered: bool = False
    attempts: int = 0
    dropped: bool = False
    # The BSUID the status carried (``recipient_user_id``); None on a failed status to a number.
    recipient_user_id: str | None = None


class InboundRecord(BaseModel):
    """One simulated customer message's webhook, and how its delivery went (see EmittedStatus)."""

    model_config = ConfigDict(frozen=True)

    seq: int
    wamid: str
    phone_number_id: str
    from_wa_id: str
    type: str
    at: AwareDatetime  # on the sandbox's clock
    webhook_status: int | None = None  # of the last POST (None: none yet, or unreachable)
    delivered: bool = False
    attempts: int = 0
    dropped: bool = False


class ReceivedLog:
    """The last ``limit`` send requests, oldest forgotten first; counts survive forgetting.

    Kept as tuples of atomic values with the body as raw bytes (parsed only when listed): the
    log grows to hundreds of thousands of entries under a benchmark, and objects the garbage
    collector must track would make its full collections stall the send path.
    """

    def __init__(self, limit: int) -> None:
        self._items: deque[_Entry] = deque(maxlen=limit)
        self.total = 0

    def add(self, phone_number_id: str, at: datetime, raw: bytes, http_status: int,
            wamid: str | None = None, error_code: int | None = None,
            fault: str | None = None) -> None:
        self.total += 1
        self._items.append(
            (self.total, phone_number_id, at, raw, http_status, wamid, error_code, fault))

    def select(self, phone_number_id: str | None = None, *, accepted_only: bool = False,
               after_seq: int = 0) -> Iterator[ReceivedRequest]:
        for entry in self._items:
            seq, number, at, raw, http_status, wamid, error_code, fault = entry
            if seq <= after_seq:
                continue
            if phone_number_id is not None and number != phone_number_id:
                continue
            if accepted_only and wamid is None:
                continue
            yield ReceivedRequest(seq=seq, phone_number_id=number, at=at, body=_json(raw),
                                  http_status=http_status, wamid=wamid, error_code=error_code,
                                  fault=fault)

    def clear(self) -> None:
        self._items.clear()


class DeliveryLog:
    """The last ``limit`` webhook items (by ``seq``, from 1) and each one's delivery state.

    A ring of tuples of atomic values (untracked by the garbage collector, as in ReceivedLog)
    with the mutable state in parallel arrays, so updating an entry by seq is O(1). Updates for
    a seq already forgotten (beyond the limit, or cleared) are ignored.
    """

    _DELIVERED = 1
    _DROPPED = 2

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.total = 0
        self._floor = 0  # seqs up to here were cleared
        self._rows: list[tuple[Any, ...]] = []
        self._attempts = array("l")
        self._http = array("l")  # the last POST's HTTP status; 0: none, or unreachable
        self._flags = bytearray()

    def _append(self, row: tuple[Any, ...], dropped: bool = False) -> int:
        self.total += 1
        flags = self._DROPPED if dropped else 0
        if len(self._rows) < self.limit:
            self._rows.append(row)
            self._attempts.append(0)
            self._http.append(0)
            self._flags.append(flags)
        else:
            i = (self.total - 1) % self.limit
            self._rows[i] = row
            self._attempts[i] = 0
            self._http[i] = 0
            self._flags[i] = flags
        return self.total

    def _index(self, seq: int) -> int | None:
        if seq <= max(self._floor, self.total - self.limit) or seq > self.total:
            return None
        return (seq - 1) % self.limit

    def attempted(self, seqs: Iterable[int], http_status: int | None) -> None:
        """One POST carrying these entries was answered ``http_status`` (None: unreachable)."""
        ok = http_status is not None and 200 <= http_status < 300
        for seq in seqs:
            i = self._index(seq)
            if i is None:
                continue
            self._attempts[i] += 1
            self._http[i] = http_status or 0
            if ok:
                self._flags[i] |= self._DELIVERED

    def dropped(self, seqs: Iterable[int]) -> None:
        """These entries were given up on."""
        for seq in seqs:
            i = self._index(seq)
            if i is not None:
                self._flags[i] |= self._DROPPED

    def _entries(self, after_seq: int) -> Iterator[tuple[int, tuple[Any, ...], int, int, int]]:
        """(seq, row, attempts, last HTTP status, flags), oldest first."""
        first = max(self._floor, self.total - self.limit, after_seq) + 1
        for seq in range(first, self.total + 1):
            i = (seq - 1) % self.limit
            yield seq, self._rows[i], self._attempts[i], self._http[i], self._flags[i]

    def clear(self) -> None:
        self._floor = self.total


class EmittedLog(DeliveryLog):
    """Every status webhook item the sandbox emitted (the last ``limit``)."""

    def add(self, wamid: str, phone_number_id: str, recipient_wa_id: str, status: str,
            at: datetime, callback_data: str | None = None, error_code: int | None = None,
            *, dropped: bool = False, recipient_user_id: str | None = None) -> int:
        """Record a status; its seq (to report its delivery with)."""
        return self._append((wamid, phone_number_id, recipient_wa_id, status, at, callback_data,
                             error_code, recipient_user_id), dropped)

    def select(self, phone_number_id: str | None = None, *, wamid: str | None = None,
               after_seq: int = 0) -> Iterator[EmittedStatus]:
        for seq, row, attempts, _, flags in self._entries(after_seq):
            if phone_number_id is not None and row[1] != phone_number_id:
                continue
            if wamid is not None and row[0] != wamid:
                continue
            yield EmittedStatus(
                seq=seq, wamid=row[0], phone_number_id=row[1], recipient_wa_id=row[2],
                status=row[3], at=row[4], callback_data=row[5], error_code=row[6],
                delivered=bool(flags & self._DELIVERED), attempts=attempts,
                dropped=bool(flags & self._DROPPED), recipient_user_id=row[7])


class InboundLog(DeliveryLog):
    """Every simulated customer message's webhook (the last ``limit``)."""

    def add(self, wamid: str, phone_number_id: str, from_wa_id: str, message_type: str,
            at: datetime) -> int:
        return self._append((wamid, phone_number_id, from_wa_id, message_type, at))

    def select(self, phone_number_id: str | None = None, *,
               after_seq: int = 0) -> Iterator[InboundRecord]:
        for seq, row, attempts, http_status, flags in self._entries(after_seq):
            if phone_number_id is not None and row[1] != phone_number_id:
                continue
            yield InboundRecord(
                seq=seq, wamid=row[0], phone_number_id=row[1], from_wa_id=row[2], type=row[3],
                at=row[4], webhook_status=http_status or None,
                delivered=bool(flags & self._DELIVERED), attempts=attempts,
                dropped=bool(flags & self._DROPPED))


# seq, phone_number_id, at, raw body, http_status, wamid, error_code, fault
_Entry = tuple[int, str, datetime, bytes, int, str | None, int | None, str | None]


def _json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
