"""The account notices' use case: the banner of the caller's tenant."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from services.inbox_api.account_health.ports import NoticeStore
from services.inbox_api.account_health.schemas import NoticeList
from services.inbox_api.account_health.views import notice_list
from services.inbox_api.accounts.credentials import Identity


class AccountNoticesQuery:
    def __init__(self, store: NoticeStore, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    async def banners(self, who: Identity) -> NoticeList:
        return notice_list(await self.store.notices(who.tenant_id), self.clock())
