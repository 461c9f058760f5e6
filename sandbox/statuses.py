"""When each status webhook of an accepted message happens, and when it arrives. Pure.

A message is ``sent``, then ``delivered``, then ``read`` (or only ``failed``). The events keep that
order in their timestamps; their *arrival* may be shuffled (``out_of_order_probability``) and any
of them may arrive twice (``duplicate_probability``), as Meta's webhooks do.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field


class Behaviour(BaseModel):
    """Status-webhook behaviour, changeable at run time through the control API."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    sent_delay_seconds: float = Field(default=0.1, ge=0, le=3600)
    delivered_delay_seconds: float = Field(default=0.3, ge=0, le=3600)
    read_delay_seconds: float = Field(default=1.0, ge=0, le=3600)
    delay_jitter: float = Field(default=0.5, ge=0, le=1)
    send_read_status: bool = True
    out_of_order_probability: float = Field(default=0.0, ge=0, le=1)
    duplicate_probability: float = Field(default=0.0, ge=0, le=1)
    pair_rate_limit: bool = False


@dataclass(frozen=True, slots=True)
class PlannedStatus:
    status: str
    happens_after: float  # seconds after acceptance: the event's timestamp
    arrives_after: float  # seconds after acceptance: when the webhook is posted


def plan(behaviour: Behaviour, rng: random.Random, failed: bool = False) -> list[PlannedStatus]:
    """The status webhooks of one accepted message."""
    jitter = behaviour.delay_jitter

    def spread(delay: float) -> float:
        return delay * (1.0 + jitter * (2.0 * rng.random() - 1.0)) if jitter else delay

    if failed:
        at = spread(behaviour.sent_delay_seconds)
        return [PlannedStatus("failed", at, at)]
    names = ["sent", "delivered"]
    delays = [behaviour.sent_delay_seconds, behaviour.delivered_delay_seconds]
    if behaviour.send_read_status:
        names.append("read")
        delays.append(behaviour.read_delay_seconds)
    times: list[float] = []
    for delay in delays:
        times.append(max(spread(delay), times[-1] if times else 0.0))
    arrivals = list(times)
    if behaviour.out_of_order_probability and rng.random() < behaviour.out_of_order_probability:
        while arrivals == times:
            rng.shuffle(arrivals)
            if len(set(arrivals)) == 1:
                break  # equal times: any order is the same order
    planned = [PlannedStatus(n, t, a) for n, t, a in zip(names, times, arrivals, strict=True)]
    if behaviour.duplicate_probability:
        for item in list(planned):
            if rng.random() < behaviour.duplicate_probability:
                again = item.arrives_after + rng.random() * max(behaviour.read_delay_seconds, 0.1)
                planned.append(PlannedStatus(item.status, item.happens_after, again))
    return planned
