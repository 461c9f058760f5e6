"""Tenants' channels: which business phone number belongs to which tenant, and how to reach Meta.

The ``channels`` collection is the shared source; services keep a cached :class:`ChannelDirectory`
so no webhook or send waits on a database read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from shared.channel_tokens import TokenBox, is_sealed

log = logging.getLogger(__name__)

# Tenant marker for a business number no tenant has claimed yet: its messages are kept, not dropped.
UNASSIGNED_TENANT = "unassigned"
CHANNELS_COLLECTION = "channels"


class Channel(BaseModel):
    """A business phone number on the Cloud API, owned by one tenant."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    phone_number_id: str
    tenant_id: str
    waba_id: str
    display_phone_number: str = ""
    access_token: SecretStr = SecretStr("")
    # Meta's per-number throughput: 80 messages/s by default, up to 1,000 after the upgrade.
    throughput_mps: int = Field(default=80, ge=1, le=1000)
    # Meta's messaging limit: unique customers per rolling 24 h the number may start conversations
    # with (tiers 250 / 2,000 / 10,000 / 100,000; None = unlimited). Campaigns stay within it.
    messaging_limit: int | None = Field(default=1000, ge=1)

    def to_document(self, tokens: TokenBox | None = None) -> dict[str, Any]:
        """The stored form; with ``tokens`` the access token is sealed (shared/channel_tokens.py).
        Services always pass it; plaintext is left for fixtures and old documents only."""
        doc = self.model_dump(mode="json")
        token = self.access_token.get_secret_value()
        doc["access_token"] = tokens.seal(token) if tokens is not None else token
        doc["_id"] = self.phone_number_id
        return doc

    @classmethod
    def from_document(cls, doc: dict[str, Any], tokens: TokenBox | None = None) -> Channel:
        """A stored channel, its token opened with ``tokens``; without them a sealed token reads
        as empty (a reader that never calls Meta, such as webhook_ingest, holds no token)."""
        stored = str(doc.get("access_token") or "")
        if tokens is None:  # never opened here: a sealed token is simply not available
            tokens_or_blank = "" if is_sealed(stored) else stored
            return cls.model_validate({**doc, "access_token": tokens_or_blank})
        token = tokens.open(stored)
        return cls.model_validate({**doc, "access_token": token})


class ChannelDirectory:
    """An in-memory view of the channels, refreshed from MongoDB in the background."""

    def __init__(self, channels: Iterable[Channel] = (), tokens: TokenBox | None = None) -> None:
        self.tokens = tokens
        self._by_number: dict[str, Channel] = {}
        self._tenant_by_waba: dict[str, str] = {}
        self.replace(channels)

    def replace(self, channels: Iterable[Channel]) -> None:
        by_number = {c.phone_number_id: c for c in channels}
        self._by_number = by_number
        self._tenant_by_waba = {c.waba_id: c.tenant_id for c in by_number.values()}

    def by_number(self, phone_number_id: str) -> Channel | None:
        return self._by_number.get(phone_number_id)

    def tenant_for_number(self, phone_number_id: str) -> str:
        channel = self._by_number.get(phone_number_id)
        return channel.tenant_id if channel else UNASSIGNED_TENANT

    def tenant_for_waba(self, waba_id: str) -> str:
        return self._tenant_by_waba.get(waba_id, UNASSIGNED_TENANT)

    def __len__(self) -> int:
        return len(self._by_number)

    async def load(self, collection: Any) -> None:
        """Replace the view with what ``collection`` (an AsyncCollection) holds now."""
        docs = await collection.find({}).to_list(None)
        self.replace(Channel.from_document(doc, self.tokens) for doc in docs)

    async def keep_fresh(self, collection: Any, every_seconds: float) -> None:
        """Reload forever; a failed reload keeps the last good view (and is logged)."""
        while True:
            await asyncio.sleep(every_seconds)
            try:
                await self.load(collection)
            except Exception:
                log.warning(
                    "channel directory refresh failed; keeping the last view", exc_info=True
                )


class ChannelLookup:
    """A channel by number from a :class:`ChannelDirectory` over ``collection``, reloaded at
    once (at most every ``reload_seconds``) when a number is not in it: a channel added a moment
    ago is found without waiting for the background refresh."""

    def __init__(self, collection: Any, directory: ChannelDirectory | None = None,
                 reload_seconds: float = 5.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.collection = collection
        self.directory = directory if directory is not None else ChannelDirectory()
        self.reload_seconds = reload_seconds
        self.monotonic = monotonic
        self._loaded_at = -float("inf")
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        await self.directory.load(self.collection)
        self._loaded_at = self.monotonic()

    async def find(self, phone_number_id: str) -> Channel | None:
        channel = self.directory.by_number(phone_number_id)
        if channel is not None:
            return channel
        async with self._lock:
            if self.monotonic() - self._loaded_at >= self.reload_seconds:
                await self.load()
        return self.directory.by_number(phone_number_id)

    async def keep_fresh(self, every_seconds: float) -> None:
        await self.directory.keep_fresh(self.collection, every_seconds)
