"""Inbound events about a tenant's WhatsApp account and numbers: Meta's ``account_update``,
``account_alerts`` and ``business_capability_update`` (``phone_number_quality_update`` has its own
event, :class:`shared.events.inbound.PhoneNumberQualityChanged`). Keyed by tenant (no
conversation). webhook_ingest is the only producer.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from shared.events.base import Contract, Event, JsonObject


class AccountNotice(Contract):
    """One account-level notice, in Meta's words.

    ``field`` is the webhook field; ``event`` Meta's event or alert type (``ACCOUNT_RESTRICTION``,
    ``ACCOUNT_VIOLATION``, ``DISABLED_UPDATE``, ``VERIFIED_ACCOUNT``, an ``alert_type``, ...);
    ``restrictions`` the ``restriction_info[]`` items (``restriction_type``, ``expiration``);
    ``details`` every other field of the value, verbatim (``ban_info``, ``violation_info``,
    ``alert_description``, ``max_daily_conversation_per_phone``, ...).
    """

    waba_id: str
    field: str
    event: str
    business_phone_number_id: str | None = None
    severity: str | None = None  # account_alerts' alert_severity (CRITICAL, WARNING, INFORMATIONAL)
    status: str | None = None  # account_alerts' alert_status (ACTIVE, ...)
    description: str | None = None
    restrictions: list[JsonObject] = Field(default_factory=list)
    at: AwareDatetime
    details: JsonObject = Field(default_factory=dict)


class AccountNoticeReceived(Event):
    """Meta told the tenant something about its account or a number. Emitted by webhook_ingest."""

    type: Literal["account.notice"] = "account.notice"
    payload: AccountNotice
