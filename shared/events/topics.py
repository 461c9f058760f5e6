"""Topic names, versioned: the one place they are spelled. Prefix with ``InfraSettings.topic``."""

from __future__ import annotations

# Normalized WhatsApp events (messages, statuses, template and account updates).
# Key: conversation id.
WHATSAPP_INBOUND = "whatsapp.inbound.v1"
# Every verified webhook body exactly as Meta sent it, one record per request, for re-processing.
WHATSAPP_WEBHOOKS_RAW = "whatsapp.webhooks.raw.v1"
# What agents and other services ask for: sends, reactions, mark-read, assign, resolve.
INBOX_COMMANDS = "inbox.commands.v1"
# What the sender did with each send command: accepted (wamid), refused by policy, failed, unknown.
INBOX_OUTBOUND = "inbox.outbound.v1"
# A conversation changed (after the store committed). For the live inbox and other subscribers.
INBOX_CONVERSATIONS = "inbox.conversations.v1"

ALL_TOPICS: tuple[str, ...] = (
    WHATSAPP_INBOUND,
    WHATSAPP_WEBHOOKS_RAW,
    INBOX_COMMANDS,
    INBOX_OUTBOUND,
    INBOX_CONVERSATIONS,
)


def dlq(topic: str) -> str:
    """The dead-letter topic of a topic: records its consumer could not process, with the error."""
    return f"{topic}.dlq"


DLQ_TOPICS: tuple[str, ...] = tuple(
    dlq(t) for t in (WHATSAPP_INBOUND, INBOX_COMMANDS, INBOX_OUTBOUND)
)
