"""What the campaigns' use cases need from MongoDB (``repository.py`` implements it)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from shared.channels import Channel

Document = dict[str, Any]
Clock = Callable[[], datetime]


class CampaignStore(Protocol):
    """``campaigns``, ``campaign_recipients`` and ``campaign_numbers``; the channels and
    templates a campaign sends with; the messages a report joins."""

    async def campaign(self, tenant_id: str, campaign_id: str) -> Document | None: ...
    async def insert_campaign(self, doc: Document) -> bool: ...

    async def page(self, tenant_id: str, state: str | None,
                   before: tuple[datetime, str] | None, limit: int) -> list[Document]: ...

    async def update(self, tenant_id: str, campaign_id: str, from_states: Sequence[str],
                     change: Document) -> bool: ...

    async def record_upload(self, campaign_id: str, change: Document) -> None: ...
    async def add_numbers(self, campaign_id: str, wa_ids: Sequence[str]) -> set[str]: ...
    async def reserve_rows(self, campaign_id: str, count: int) -> int: ...
    async def recipient_at(self, campaign_id: str, position: int) -> Document | None: ...
    async def add_recipients(self, docs: Sequence[Document]) -> int: ...

    async def give_up_queued(self, campaign_id: str, first: int, last: int, reason: str,
                             at: datetime) -> int: ...

    def all_recipients(self, campaign_id: str,
                       rows_total: int) -> AsyncIterator[list[Document]]: ...

    async def messages(self, tenant_id: str, ids: Sequence[str]) -> dict[str, Document]: ...

    async def thread_facts(self, tenant_id: str, conversation_ids: Sequence[str],
                           campaign_id: str, since: datetime
                           ) -> tuple[dict[str, list[datetime]], dict[str, list[datetime]]]: ...

    async def channel(self, phone_number_id: str) -> Channel | None: ...
    async def template(self, waba_id: str, name: str, language: str) -> Document | None: ...


class Contacts(Protocol):
    """The contact directory (shared/contact_directory.py ``ContactDirectory``): a customer's
    conversation on a business number by number or BSUID; writes the aliases it lacked."""

    async def resolve(self, pnid: str, tenant_id: str, wa_id: str | None,
                      user_id: str | None) -> str: ...
