"""What every feature's JSON shapes share: the strict base model, and the one error body."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorOut(BaseModel):
    """Every error: a machine code, a sentence for a person, and fields that help."""

    model_config = ConfigDict(extra="allow")

    error: str
    detail: str
    field: str | None = None
    reason: str | None = None
    hint: str | None = None
