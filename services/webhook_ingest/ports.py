"""What webhook_ingest's use case hands to its publisher port (``service.WebhookPublisher``).

It lives apart from both so that the use case (service.py) and the Kafka adapter
(adapters/kafka.py) import it from here, and the use case never imports an adapter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shared.contacts import Resolution


@dataclass(frozen=True, slots=True)
class RawWebhook:
    """A verified request body exactly as Meta sent it, and when we received it."""

    body: bytes
    signature: str
    received_at: datetime
    waba_id: str | None

    def key(self) -> bytes:
        return (self.waba_id or "unknown").encode()

    def headers(self) -> list[tuple[str, bytes]]:
        return [
            ("x-hub-signature-256", self.signature.encode()),
            ("received-at", self.received_at.isoformat().encode()),
        ]


class ContactResolver(Protocol):
    """The contact directory (``shared.contact_directory.ContactDirectory``): a customer's
    number and/or BSUID -> their conversation id, by the rule of ``shared.contacts``."""

    def cached(self, pnid: str, wa_id: str | None, user_id: str | None) -> str | None:
        """The conversation id when answerable from memory, else None (no I/O)."""
        ...

    async def route(
        self, pnid: str, tenant_id: str, wa_id: str | None, user_id: str | None
    ) -> Resolution:
        """The conversation, writing aliases for identifiers seen for the first time; names the
        conversation absorbed when the number and the BSUID belonged to two, and the aliases to
        move (nothing is moved before :meth:`repoint`)."""
        ...

    async def repoint(self, pnid: str, tenant_id: str, resolution: Resolution) -> None:
        """Once the merge is durable: record it and move the aliases (idempotent)."""
        ...

    async def link(
        self, pnid: str, tenant_id: str, conversation_id: str,
        wa_id: str | None, user_id: str | None,
    ) -> Resolution:
        """Alias new identifiers (a number or BSUID change) to ``conversation_id``."""
        ...
