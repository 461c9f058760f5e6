"""The opt-out check over MongoDB: is this template MARKETING, and did the customer opt out?

The `opt_outs` collection is conversation_store's (docs/campaigns.md); template categories come
from `templates`. The refusal itself is refusals.py's."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.campaigns import OPT_OUTS_COLLECTION, customer_key, opt_out_id
from shared.channels import Channel
from shared.events import SendTemplate
from shared.templates import TEMPLATES_COLLECTION, template_doc_id


class MongoOptOuts:
    """Categories are cached for ``ttl_seconds`` (they rarely change); opt-outs are read fresh:
    one ``_id`` read, only for marketing templates."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], ttl_seconds: float,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.ttl_seconds = ttl_seconds
        self.monotonic = monotonic
        self._categories: dict[str, tuple[float, str]] = {}

    async def blocks(self, command: SendTemplate, channel: Channel) -> bool:
        if await self._category(channel.waba_id, command.template_name,
                                command.language) != "MARKETING":
            return False
        doc = await self.db[OPT_OUTS_COLLECTION].find_one(
            {"_id": opt_out_id(command.tenant_id, channel.phone_number_id,
                               customer_key(command.customer_wa_id, command.customer_user_id))},
            {"opted_out": 1})
        return bool(doc and doc.get("opted_out"))

    async def _category(self, waba_id: str, name: str, language: str) -> str:
        key = template_doc_id(waba_id, name, language)
        cached = self._categories.get(key)
        if cached is not None and self.monotonic() - cached[0] < self.ttl_seconds:
            return cached[1]
        doc = await self.db[TEMPLATES_COLLECTION].find_one({"_id": key}, {"category": 1})
        category = str((doc or {}).get("category") or "").upper()
        if len(self._categories) > 10_000:
            self._categories.clear()
        self._categories[key] = (self.monotonic(), category)
        return category
