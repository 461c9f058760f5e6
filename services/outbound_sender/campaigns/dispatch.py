"""The campaign dispatcher: finds due campaigns and runs one release loop per claimed campaign.

Each sender replica looks for due campaigns every ``poll_seconds`` and claims each one with a
lease (a conditional update on the campaign: no two replicas release one campaign at once).
Per claimed campaign, a loop of small steps (release.py), one every ``tick_seconds`` at most,
each sized by the release budget (pacing.py: two ticks of the rate at most, a steady stream, not
bursts). Stopping cancels the loops and gives the leases back (docs/campaigns.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from services.outbound_sender.campaigns.ports import CampaignStore, CommandSink, DispatchConfig
from services.outbound_sender.campaigns.release import CampaignRun
from services.outbound_sender.ports import ChannelLookup

log = logging.getLogger(__name__)


class CampaignDispatcher:
    def __init__(self, store: CampaignStore, channels: ChannelLookup, publish: CommandSink,
                 backlog: Callable[[str], int], config: DispatchConfig,
                 clock: Callable[[], datetime],
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.store = store
        self.channels = channels
        self.publish = publish
        # Sends the sender already holds per number: releases stay at most ``lead_seconds``
        # of the rate ahead of it, so a pause takes effect quickly.
        self.backlog = backlog
        self.config = config
        self.clock = clock
        self.monotonic = monotonic
        self.sleep = sleep
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self._stopping = False

    async def run(self) -> None:
        while not self._stopping:
            try:
                await self.poll_once()
            except Exception:
                log.warning("campaign poll failed; trying again", exc_info=True)
            await self.sleep(self.config.poll_seconds)

    async def poll_once(self) -> None:
        now = self.clock()
        for doc in await self.store.due(now):
            cid = doc["_id"]
            if cid in self.tasks and not self.tasks[cid].done():
                continue
            claimed = await self.store.claim(cid, self.config.owner, now,
                                             self.config.lease_seconds)
            if claimed is not None:
                self.tasks[cid] = asyncio.create_task(self._campaign(cid))

    async def stop(self) -> None:
        self._stopping = True
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for cid in list(self.tasks):
            try:
                await self.store.release_lease(cid, self.config.owner)
            except Exception:
                log.info("could not release a campaign lease; it expires", exc_info=True)

    async def _campaign(self, campaign_id: str) -> None:
        run = CampaignRun(campaign_id, store=self.store, channels=self.channels,
                          publish=self.publish, backlog=self.backlog, config=self.config,
                          clock=self.clock, monotonic=self.monotonic)
        try:
            while True:
                started = self.monotonic()
                if not await run.step():
                    break
                # The next step a tick after this one started: the step's own time counts.
                await self.sleep(max(0.0, self.config.tick_seconds -
                                     (self.monotonic() - started)))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("campaign dispatch failed; the lease expires and it is taken again",
                        exc_info=True, extra={"campaign_id": campaign_id})
        finally:
            if run.writes is not None:
                # Let the last step's marks and cursor land (a stop cancels this task, not
                # them); otherwise the next claim re-reads that range, which is harmless too.
                await asyncio.gather(run.writes, return_exceptions=True)
