"""Meta's send-time rules as the sandbox enforces them. Pure: time is always passed in.

- The customer-service window: free-form messages only while ``now < last inbound + 24 h``
  (closed at exactly 24 h), else 131047. Meta reports it asynchronously (the send is accepted,
  then a ``failed`` status carries 131047); the service does the same with ``window_open``.
  Written independently of ``shared.window`` on purpose: the sandbox plays Meta, so it must
  catch a bug in our own policy, not share it.
- Templates: unknown name or language, or not approved -> 132001; paused -> 132015; disabled ->
  132016; a body-variable count that differs from the template's -> 132000.
- Throughput: a token bucket per business number (``mps`` per second, bursts of
  ``mps * burst_seconds``) -> 130429; the optional pair limit per (number, customer) -> 131056.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from datetime import datetime, timedelta

from sandbox.catalog import APPROVED, TemplateSpec
from sandbox.errors import CloudApiError
from sandbox.requests import TemplateRef

# Codes of refusals Meta reports in a ``failed`` status webhook, after accepting the send.
REENGAGEMENT = 131047  # free-form message outside the customer-service window
MEDIA_UPLOAD_ERROR = 131053  # the message's media could not be fetched (an unknown media id)
MARKETING_STOPPED = 131050  # a marketing template to a customer who stopped marketing messages


def window_open(last_inbound_at: datetime | None, now: datetime, window: timedelta) -> bool:
    return last_inbound_at is not None and now < last_inbound_at + window


def check_window(last_inbound_at: datetime | None, now: datetime, window: timedelta) -> None:
    """Free-form messages need an open window (the refusal, for callers that want it raised)."""
    if not window_open(last_inbound_at, now, window):
        hours = window.total_seconds() / 3600
        raise CloudApiError(
            REENGAGEMENT,
            f"Message failed to send because more than {hours:g} hours have passed since the "
            "customer last replied to this number.",
        )


def check_template(spec: TemplateSpec | None, ref: TemplateRef) -> TemplateSpec:
    """The template to send, or Meta's refusal."""
    if spec is None:
        raise CloudApiError(
            132001, f"template name ({ref.name}) does not exist in {ref.language}")
    if spec.status == "PAUSED":
        raise CloudApiError(132015, f"Template {ref.name} is paused due to low quality.")
    if spec.status == "DISABLED":
        raise CloudApiError(132016, f"Template {ref.name} has been permanently disabled.")
    if spec.status != APPROVED:
        raise CloudApiError(
            132001, f"template name ({ref.name}) does not exist in {ref.language} "
            f"(status {spec.status}, not approved)")
    if ref.body_parameters != spec.body_parameters:
        raise CloudApiError(
            132000,
            f"body: number of localizable_params ({ref.body_parameters}) does not match the "
            f"expected number of params ({spec.body_parameters})",
        )
    return spec


class TokenBucket:
    """``rate`` tokens per second, at most ``capacity`` saved up; ``now`` is monotonic seconds."""

    __slots__ = ("_stamp", "_tokens", "capacity", "rate")

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = max(capacity, 1.0)
        self._tokens = self.capacity
        self._stamp = now

    def take(self, now: float) -> bool:
        """Spend one token if there is one."""
        tokens = self._tokens + (now - self._stamp) * self.rate
        self._stamp = now
        if tokens > self.capacity:
            tokens = self.capacity
        if tokens >= 1.0:
            self._tokens = tokens - 1.0
            return True
        self._tokens = tokens
        return False

    def wait_seconds(self) -> float:
        """How long until the next token (as of the last call)."""
        return max(0.0, (1.0 - self._tokens) / self.rate)


class NumberRates:
    """One bucket per business number, re-created when its throughput changes."""

    def __init__(self, burst_seconds: float) -> None:
        self.burst_seconds = burst_seconds
        self._buckets: dict[str, TokenBucket] = {}

    def allow(self, phone_number_id: str, mps: int, now: float) -> bool:
        bucket = self._buckets.get(phone_number_id)
        if bucket is None or bucket.rate != mps:
            bucket = TokenBucket(mps, mps * self.burst_seconds, now)
            self._buckets[phone_number_id] = bucket
        return bucket.take(now)

    def refused(self, mps: int, retry_after: int) -> CloudApiError:
        return CloudApiError(
            130429,
            f"Message failed to send because there were too many messages sent from this phone "
            f"number in a short period of time (throughput {mps} messages per second).",
            retry_after=retry_after,
        )

    def clear(self) -> None:
        self._buckets.clear()


class PairRates:
    """Meta's pair rate limit per (business number, customer); least recently used forgotten."""

    def __init__(self, rate: float, burst: int, max_pairs: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_pairs = max_pairs
        self._buckets: OrderedDict[tuple[str, str], TokenBucket] = OrderedDict()

    def check(self, phone_number_id: str, wa_id: str, now: float) -> None:
        key = (phone_number_id, wa_id)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(self.rate, self.burst, now)
            self._buckets[key] = bucket
            if len(self._buckets) > self.max_pairs:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        if not bucket.take(now):
            raise CloudApiError(
                131056,
                "Message failed to send because there were too many messages sent from this "
                "phone number to the same phone number in a short period of time.",
                retry_after=max(1, math.ceil(bucket.wait_seconds())),
            )

    def clear(self) -> None:
        self._buckets.clear()
