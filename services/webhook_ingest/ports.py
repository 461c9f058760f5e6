"""What webhook_ingest's use case hands to its publisher port (``service.WebhookPublisher``).

It lives apart from both so that the use case (service.py) and the Kafka adapter
(adapters/kafka.py) import it from here, and the use case never imports an adapter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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
