"""What the sandbox remembers and reports through its control API."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
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


class InboundResult(BaseModel):
    """A simulated customer message: its wamid and how the webhook POST went."""

    model_config = ConfigDict(frozen=True)

    wamid: str
    phone_number_id: str
    from_wa_id: str
    timestamp: AwareDatetime
    # HTTP status of the first webhook POST (None: no webhook URL, or it could not connect).
    webhook_status: int | None
    payload: dict[str, Any]


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


# seq, phone_number_id, at, raw body, http_status, wamid, error_code, fault
_Entry = tuple[int, str, datetime, bytes, int, str | None, int | None, str | None]


def _json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
