"""What the dispatcher is given: its store (MongoDB in production), where its commands go, and
its knobs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from shared.events.commands import Command

Document = dict[str, Any]
CommandSink = Callable[[Sequence[Command]], Awaitable[None]]


class CampaignStore(Protocol):
    """Campaigns (lease, state, cursor, counters), their recipients by position, opt-outs, the
    template's status, and the number's hourly release counts."""

    async def due(self, now: datetime) -> list[Document]: ...
    async def claim(self, campaign_id: str, owner: str, now: datetime,
                    lease_seconds: float) -> Document | None: ...
    async def release_lease(self, campaign_id: str, owner: str) -> None: ...
    async def set_state(self, campaign_id: str, from_state: str, change: Document) -> bool: ...
    async def set_hold(self, campaign_id: str, hold: Document | None) -> None: ...
    async def template(self, waba_id: str, name: str, language: str) -> Document | None: ...
    async def at_positions(self, campaign_id: str, first: int,
                           last: int) -> list[Document]: ...
    async def advance(self, campaign_id: str, owner: str, from_row: int,
                      to_row: int) -> bool: ...
    async def opted_out(self, tenant_id: str, number: str,
                        wa_ids: Sequence[str]) -> set[str]: ...
    async def mark(self, campaign_id: str, ids: Sequence[str], state: str, now: datetime,
                   reason: str | None = None) -> int: ...
    async def give_up(self, campaign_id: str, first: int, last: int, reason: str,
                      now: datetime) -> int: ...
    async def count_releases(self, number: str, now: datetime, count: int) -> None: ...
    async def released_in_window(self, number: str,
                                 now: datetime) -> tuple[int, datetime | None]: ...


@dataclass(frozen=True, slots=True)
class DispatchConfig:
    owner: str
    poll_seconds: float = 1.0
    lease_seconds: float = 10.0
    # A step every ``tick_seconds`` at most: small, even releases (the bucket sizes each step)
    # instead of a burst of ``max_batch`` a second that the sender's loop digests at once.
    tick_seconds: float = 0.1
    # Lease renewal and the campaign, channel and template re-read happen this often at most
    # (not every step): a pause or a disabled template takes effect within this.
    check_seconds: float = 0.25
    lead_seconds: float = 1.0
    campaign_share: float = 0.9
    throughput_share: float = 1.0
    max_batch: int = 500
    limit_refresh_seconds: float = 10.0
