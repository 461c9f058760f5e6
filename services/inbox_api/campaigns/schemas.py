"""The campaigns' request shapes (docs/campaigns.md); answers are built in ``views.py``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

State = Literal["draft", "scheduled", "running", "paused", "cancelled", "completed", "stopped"]


class RecipientIn(BaseModel):
    # A phone number or a BSUID (``US.1349...``, a customer who hides their number); ``user_id``
    # is accepted in its place. Checked per row (audience.py): a bad one is a row error.
    phone: str | None = Field(default=None, min_length=1, max_length=140)
    user_id: str | None = Field(default=None, min_length=1, max_length=140)
    variables: dict[str, str] = Field(default_factory=dict)


class ScheduleIn(BaseModel):
    at: str = Field(description="Local wall time, e.g. 2026-12-01T09:00", max_length=40)
    time_zone: str = Field(description="IANA zone, e.g. Europe/Berlin", max_length=64)


class CampaignIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    business_phone_number_id: str = Field(min_length=1, max_length=64)
    template_name: str = Field(min_length=1, max_length=512)
    language: str = Field(default="en_US", min_length=2, max_length=15)
    recipients: list[RecipientIn] | None = Field(default=None, max_length=200_000)
    schedule: ScheduleIn | None = None
