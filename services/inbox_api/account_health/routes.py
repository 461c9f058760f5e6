"""Meta's notices about the tenant's accounts and numbers, for the banner every agent sees."""

from __future__ import annotations

from fastapi import APIRouter

from services.inbox_api.account_health.schemas import NoticeList
from services.inbox_api.deps import AccountNotices, Caller
from services.inbox_api.errors import error_responses

router = APIRouter(tags=["account"])


@router.get("/account/notices", responses=error_responses(401))
async def account_notices(caller: Caller, notices: AccountNotices) -> NoticeList:
    """What Meta says about the tenant's WhatsApp accounts and numbers now (restrictions, a
    disabled account, quality, limits, alerts), most severe first: the inbox shows them at the
    top for every agent. A send such a notice refuses is refused with its reason
    (``account_restricted``, ``account_disabled``) before it reaches Meta."""
    return await notices.banners(caller)
