"""Stored notices -> the banner's JSON shape. Pure: ``now`` is passed in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from services.inbox_api.account_health.schemas import BannerOut, NoticeList
from shared.account_banners import Banner, banners
from shared.account_health import Notice


def banner_view(banner: Banner) -> BannerOut:
    return BannerOut(id=banner.id, level=banner.level,
                     title=banner.title, text=banner.text, code=banner.code, at=banner.at,
                     expires_at=banner.expires_at, waba_id=banner.waba_id,
                     business_phone_number_id=banner.business_phone_number_id,
                     display_phone_number=banner.display_phone_number,
                     blocks=banner.blocks.value if banner.blocks else None)


def notice_list(docs: Iterable[Mapping[str, Any]], now: datetime) -> NoticeList:
    """What every agent of the tenant sees now (expired restrictions and old news left out)."""
    return NoticeList(items=[banner_view(b) for b in
                             banners((Notice.from_document(d) for d in docs), now)])
