"""The envelope every record on every topic shares."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue

JsonObject = dict[str, JsonValue]


class Contract(BaseModel):
    """Base of every contract model: immutable; unknown fields ignored so producers can add some."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class Event(Contract):
    """The envelope: identity, time, tenant and conversation, then a ``type`` and its fields.

    ``conversation_id`` is ``{business phone_number_id}:{canonical customer wa_id}`` and is the
    record key, so every event of one conversation lands on one partition, in order.
    """

    event_id: UUID = Field(default_factory=uuid4)
    schema_version: int = 1
    occurred_at: AwareDatetime
    tenant_id: str
    conversation_id: str | None = None

    def record_key(self) -> bytes:
        """The Kafka key: the conversation, else the tenant (for tenant-wide events)."""
        return (self.conversation_id or self.tenant_id).encode()

    def to_bytes(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()


def dump(model: BaseModel) -> dict[str, Any]:
    """A model as JSON-compatible data (aliases, ISO datetimes), e.g. to store beside a document."""
    return model.model_dump(mode="json", by_alias=True)
