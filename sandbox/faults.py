"""Injected faults: "the next N requests to this number answer X", for tests of the sender.

Kinds:

- ``server_error``: HTTP 5xx (``http_status``, default 500) with Meta's code 1 envelope.
- ``unknown_error``: Meta's 131000 "Something went wrong" (HTTP 500).
- ``rate_limit``: 130429 (HTTP 429 with ``Retry-After``), as if the number's throughput was hit.
- ``error``: any Meta ``code`` (HTTP status from the sandbox's table unless ``http_status``).
- ``timeout``: the request hangs ``seconds`` (default 60), then 504. With ``accept`` the message
  is accepted first (recorded, statuses posted): the caller cannot know it went out.
- ``slow``: the request waits ``seconds`` (default 2), then is handled normally.
- ``status_failed``: accepted (200 and a wamid), then a ``failed`` status webhook with ``code``
  (default 131026, undeliverable) instead of sent/delivered/read.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FaultKind = Literal[
    "server_error", "unknown_error", "rate_limit", "error", "timeout", "slow", "status_failed"
]
DEFAULT_TIMEOUT_SECONDS = 60.0
DEFAULT_SLOW_SECONDS = 2.0
DEFAULT_FAILED_STATUS_CODE = 131026


class Fault(BaseModel):
    """One fault instruction, applied to the next ``count`` requests of a number."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: FaultKind
    count: int = Field(default=1, ge=1, le=1_000_000)
    code: int | None = None
    http_status: int | None = Field(default=None, ge=400, le=599)
    seconds: float | None = Field(default=None, ge=0, le=3600)
    accept: bool = False

    @model_validator(mode="after")
    def _check(self) -> Fault:
        if self.kind == "error" and self.code is None:
            raise ValueError("an 'error' fault needs a code")
        if self.kind == "server_error" and self.http_status is not None \
                and self.http_status < 500:
            raise ValueError("a 'server_error' fault needs a 5xx http_status")
        return self

    @property
    def delay(self) -> float:
        if self.seconds is not None:
            return self.seconds
        if self.kind == "timeout":
            return DEFAULT_TIMEOUT_SECONDS
        return DEFAULT_SLOW_SECONDS if self.kind == "slow" else 0.0


@dataclass(slots=True)
class _Pending:
    fault: Fault
    remaining: int


class FaultBook:
    """Pending faults per number, first in first out; each request takes one."""

    def __init__(self) -> None:
        self._pending: dict[str, deque[_Pending]] = {}

    def add(self, phone_number_id: str, fault: Fault) -> None:
        self._pending.setdefault(phone_number_id, deque()).append(_Pending(fault, fault.count))

    def take(self, phone_number_id: str) -> Fault | None:
        """The fault for this request, if any (cheap when none is pending: the hot path)."""
        queue = self._pending.get(phone_number_id)
        if not queue:
            return None
        head = queue[0]
        head.remaining -= 1
        if head.remaining <= 0:
            queue.popleft()
            if not queue:
                del self._pending[phone_number_id]
        return head.fault

    def clear(self, phone_number_id: str | None = None) -> None:
        if phone_number_id is None:
            self._pending.clear()
        else:
            self._pending.pop(phone_number_id, None)

    def pending(self) -> dict[str, list[Fault]]:
        """What is left, each fault with its remaining count."""
        return {
            number: [p.fault.model_copy(update={"count": p.remaining}) for p in queue]
            for number, queue in self._pending.items()
        }
