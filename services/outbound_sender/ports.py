"""The sender's small ports (besides :class:`~services.outbound_sender.cloud.CloudApi` and
:class:`~services.outbound_sender.ledger.Ledger`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shared.account_health import Notice
from shared.channels import Channel
from shared.events import SendTemplate


class ChannelLookup(Protocol):
    async def find(self, phone_number_id: str) -> Channel | None:
        """The channel of a business number, or None when no tenant configured it."""


@dataclass(frozen=True, slots=True)
class StoredWindow:
    """A conversation's window as conversation_store recorded it: the customer's latest message
    (None: never wrote) and the latest time Meta reported the window closed (131047)."""

    last_inbound_at: datetime | None = None
    closed_at: datetime | None = None


class ConversationWindows(Protocol):
    async def window(self, conversation_id: str) -> StoredWindow:
        """The conversation's window facts (both None when there is no conversation yet)."""


class TemplateStatuses(Protocol):
    async def status(self, waba_id: str, name: str, language: str) -> str | None:
        """Meta's status of a template (``APPROVED``, ``PAUSED``, ...), None when unknown."""


class OptOutCheck(Protocol):
    async def blocks(self, command: SendTemplate, channel: Channel) -> bool:
        """True when this template must not go to this customer (opted out of marketing)."""


class AccountNotices(Protocol):
    async def notices(self, channel: Channel) -> list[Notice]:
        """Meta's notices that can refuse a send from this number: its account's and its own
        restrictions and bans (``shared/account_health.py``)."""


class InboundCatchUp(Protocol):
    async def wait(self, conversation_id: str, timeout: float) -> bool:
        """Wait until conversation_store has stored every inbound event of this conversation
        that Kafka held when called; False if that did not happen within ``timeout``."""


class ResultPublisher(Protocol):
    async def publish(self, key: bytes, value: bytes) -> None:
        """Publish one outbound result and wait for the broker's acknowledgement."""
