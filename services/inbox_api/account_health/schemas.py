"""The account notices' JSON shapes (docs/inbox-api.md, "Account notices")."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime

from services.inbox_api.schemas import ApiModel


class BannerOut(ApiModel):
    """One notice as the inbox's banner shows it: ``text`` in Meta's words plus what it means.
    ``blocks``: which sends it refuses (``all``, ``business_initiated``: templates that start a
    conversation, ``customer_initiated``: replies in the window), null when it refuses none."""

    id: str
    level: Literal["critical", "warning", "info"]
    title: str
    text: str
    code: str
    at: AwareDatetime
    expires_at: AwareDatetime | None
    waba_id: str
    business_phone_number_id: str | None
    display_phone_number: str | None
    blocks: Literal["all", "business_initiated", "customer_initiated"] | None


class NoticeList(ApiModel):
    items: list[BannerOut]
