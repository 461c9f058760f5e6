"""Who writes and reads each collection, and who produces and consumes each topic.

The map ``docs/architecture.md`` opens with, in code: ``tests/unit/shared/test_architecture_map.py``
renders the doc's table from it, and fails when a service's source writes a collection the map
does not give it (or the map gives one it no longer writes).
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.account_health import ACCOUNT_HEALTH_COLLECTION
from shared.campaigns import (
    CAMPAIGN_NUMBERS_COLLECTION,
    CAMPAIGN_RECIPIENTS_COLLECTION,
    CAMPAIGN_RELEASE_HOURS_COLLECTION,
    CAMPAIGNS_COLLECTION,
    OPT_OUTS_COLLECTION,
)
from shared.channels import CHANNELS_COLLECTION
from shared.contacts import CONTACT_ALIASES_COLLECTION
from shared.events.topics import (
    INBOX_COMMANDS,
    INBOX_CONVERSATIONS,
    INBOX_OUTBOUND,
    WHATSAPP_INBOUND,
    WHATSAPP_WEBHOOKS_RAW,
)
from shared.media_archive import (
    MEDIA_ARCHIVE_COLLECTION,
    MEDIA_CHUNKS_COLLECTION,
    MEDIA_FILES_COLLECTION,
)
from shared.read_model import (
    AGENTS_COLLECTION,
    API_KEYS_COLLECTION,
    AUDIT_LOG_COLLECTION,
    CANNED_REPLIES_COLLECTION,
    CONVERSATION_LABELS_COLLECTION,
    CONVERSATIONS_COLLECTION,
    INVITATIONS_COLLECTION,
    LABELS_COLLECTION,
    MENTIONS_COLLECTION,
    MESSAGES_COLLECTION,
    NOTES_COLLECTION,
    PRESENCE_COLLECTION,
    ROUND_ROBIN_COLLECTION,
    SEND_ATTEMPTS_COLLECTION,
    SEND_OUTCOMES_COLLECTION,
    SEND_RATE_BUCKETS_COLLECTION,
    SEND_RETRIES_COLLECTION,
    SESSIONS_COLLECTION,
    SIGN_IN_FAILURES_COLLECTION,
    SIGN_IN_LINKS_COLLECTION,
    TEAMS_COLLECTION,
    TENANT_SETTINGS_COLLECTION,
)
from shared.templates import TEMPLATES_COLLECTION

WEBHOOK_INGEST = "webhook_ingest"
CONVERSATION_STORE = "conversation_store"
OUTBOUND_SENDER = "outbound_sender"
INBOX_API = "inbox_api"
SERVICES: tuple[str, ...] = (WEBHOOK_INGEST, CONVERSATION_STORE, OUTBOUND_SENDER, INBOX_API)


@dataclass(frozen=True, slots=True)
class CollectionUse:
    writers: tuple[str, ...]
    readers: tuple[str, ...]
    what: str


@dataclass(frozen=True, slots=True)
class TopicUse:
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    what: str
    # Services that read only the topic's offsets (no records).
    watchers: tuple[str, ...] = ()


COLLECTIONS: dict[str, CollectionUse] = {
    CONVERSATIONS_COLLECTION: CollectionUse(
        (CONVERSATION_STORE,), (INBOX_API, OUTBOUND_SENDER), "one per customer and number"),
    MESSAGES_COLLECTION: CollectionUse(
        (CONVERSATION_STORE,), (INBOX_API,), "one per message"),
    TEMPLATES_COLLECTION: CollectionUse(
        (CONVERSATION_STORE, INBOX_API), (INBOX_API, OUTBOUND_SENDER),
        "Meta's templates and their status"),
    OPT_OUTS_COLLECTION: CollectionUse(
        (CONVERSATION_STORE,), (OUTBOUND_SENDER, INBOX_API), "a customer's stop or start"),
    ACCOUNT_HEALTH_COLLECTION: CollectionUse(
        (CONVERSATION_STORE,), (INBOX_API, OUTBOUND_SENDER),
        "Meta's notices about an account or number"),
    CHANNELS_COLLECTION: CollectionUse(
        (INBOX_API,), (WEBHOOK_INGEST, CONVERSATION_STORE, OUTBOUND_SENDER, INBOX_API),
        "business numbers"),
    CAMPAIGNS_COLLECTION: CollectionUse(
        (INBOX_API, OUTBOUND_SENDER), (INBOX_API, OUTBOUND_SENDER), "campaigns, leases"),
    CAMPAIGN_RECIPIENTS_COLLECTION: CollectionUse(
        (INBOX_API, OUTBOUND_SENDER), (INBOX_API, OUTBOUND_SENDER), "one per recipient"),
    CAMPAIGN_NUMBERS_COLLECTION: CollectionUse(
        (INBOX_API,), (), "duplicate numbers at upload"),
    CAMPAIGN_RELEASE_HOURS_COLLECTION: CollectionUse(
        (OUTBOUND_SENDER,), (OUTBOUND_SENDER,), "releases per number per hour"),
    SEND_ATTEMPTS_COLLECTION: CollectionUse(
        (OUTBOUND_SENDER,), (OUTBOUND_SENDER,), "the send ledger: claims"),
    SEND_RETRIES_COLLECTION: CollectionUse(
        (OUTBOUND_SENDER,), (OUTBOUND_SENDER,), "the send ledger: retries"),
    SEND_OUTCOMES_COLLECTION: CollectionUse(
        (OUTBOUND_SENDER,), (OUTBOUND_SENDER,), "the send ledger: outcomes"),
    SEND_RATE_BUCKETS_COLLECTION: CollectionUse(
        (OUTBOUND_SENDER,), (OUTBOUND_SENDER,), "each number's shared send rate (leased tokens)"),
    CONTACT_ALIASES_COLLECTION: CollectionUse(
        (WEBHOOK_INGEST, INBOX_API), (WEBHOOK_INGEST, INBOX_API),
        "a customer's number or BSUID -> conversation"),
    API_KEYS_COLLECTION: CollectionUse((INBOX_API,), (INBOX_API,), "agent and service keys"),
    SESSIONS_COLLECTION: CollectionUse((INBOX_API,), (INBOX_API,), "web inbox sessions"),
    AGENTS_COLLECTION: CollectionUse((INBOX_API,), (INBOX_API,),
                                     "people: name, email, role, active, password hash"),
    INVITATIONS_COLLECTION: CollectionUse((INBOX_API,), (INBOX_API,),
                                          "pending invitations (token digests)"),
    SIGN_IN_FAILURES_COLLECTION: CollectionUse((INBOX_API,), (INBOX_API,),
                                               "failed sign-ins counted by the throttle"),
    SIGN_IN_LINKS_COLLECTION: CollectionUse((INBOX_API,), (INBOX_API,),
                                            "single-use sign-in links (token digests)"),
    MEDIA_ARCHIVE_COLLECTION: CollectionUse(
        (CONVERSATION_STORE,), (INBOX_API,), "one per customer media: archived, or why not"),
    MEDIA_FILES_COLLECTION: CollectionUse(
        (CONVERSATION_STORE,), (INBOX_API,), "archived media files (GridFS)"),
    MEDIA_CHUNKS_COLLECTION: CollectionUse(
        (CONVERSATION_STORE,), (INBOX_API,), "archived media bytes (GridFS)"),
    TENANT_SETTINGS_COLLECTION: CollectionUse(
        (INBOX_API,), (INBOX_API,), "a tenant's settings (read receipts)"),
    # Inbox-owned beside the conversation document (which conversation_store replaces whole).
    LABELS_COLLECTION: CollectionUse((INBOX_API,), (INBOX_API,), "a tenant's labels"),
    CONVERSATION_LABELS_COLLECTION: CollectionUse(
        (INBOX_API,), (INBOX_API,), "the labels a conversation carries"),
    CANNED_REPLIES_COLLECTION: CollectionUse((INBOX_API,), (INBOX_API,), "canned replies"),
    AUDIT_LOG_COLLECTION: CollectionUse((INBOX_API,), (INBOX_API,), "agents' actions"),
    TEAMS_COLLECTION: CollectionUse((INBOX_API,), (INBOX_API,), "teams: name, member agents"),
    # inbox_api sets the switch and who takes turns; the store advances the pointer.
    ROUND_ROBIN_COLLECTION: CollectionUse(
        (INBOX_API, CONVERSATION_STORE), (INBOX_API, CONVERSATION_STORE),
        "round-robin: on/off, agents in turn, the pointer"),
    NOTES_COLLECTION: CollectionUse((INBOX_API,), (INBOX_API,), "private notes"),
    MENTIONS_COLLECTION: CollectionUse((INBOX_API,), (INBOX_API,),
                                       "unread @mentions per agent and conversation"),
    PRESENCE_COLLECTION: CollectionUse((INBOX_API,), (INBOX_API,),
                                       "who is viewing or typing in a conversation now"),
}

TOPICS: dict[str, TopicUse] = {
    WHATSAPP_WEBHOOKS_RAW: TopicUse(
        (WEBHOOK_INGEST,), (WEBHOOK_INGEST,), "verified webhook bodies (replay)"),
    # conversation_store re-publishes, keyed by the survivor, what reaches a merged conversation
    # (on the topic it came from), and hands an absorbed conversation over on the inbound topic.
    WHATSAPP_INBOUND: TopicUse(
        (WEBHOOK_INGEST, CONVERSATION_STORE), (CONVERSATION_STORE,),
        "normalized WhatsApp events; merges", watchers=(OUTBOUND_SENDER,)),
    INBOX_COMMANDS: TopicUse(
        (INBOX_API, OUTBOUND_SENDER, CONVERSATION_STORE), (CONVERSATION_STORE, OUTBOUND_SENDER),
        "agents' and campaigns' commands"),
    INBOX_OUTBOUND: TopicUse(
        (OUTBOUND_SENDER, CONVERSATION_STORE), (CONVERSATION_STORE,),
        "what the sender did with each send"),
    INBOX_CONVERSATIONS: TopicUse(
        (CONVERSATION_STORE,), (INBOX_API,), "a conversation changed (live inbox)"),
}


def _names(services: tuple[str, ...]) -> str:
    return ", ".join(services) if services else "-"


def markdown_tables() -> str:
    """The map's two tables, as ``docs/architecture.md`` shows them."""
    lines = ["| collection | written by | read by | holds |", "| --- | --- | --- | --- |"]
    for name, use in COLLECTIONS.items():
        lines.append(f"| `{name}` | {_names(use.writers)} | {_names(use.readers)} | {use.what} |")
    lines += ["", "| topic | produced by | consumed by | carries |", "| --- | --- | --- | --- |"]
    for name, topic in TOPICS.items():
        consumers = _names(topic.consumers)
        if topic.watchers:
            consumers += f" ({_names(topic.watchers)}: offsets only)"
        lines.append(f"| `{name}` | {_names(topic.producers)} | {consumers} | {topic.what} |")
    return "\n".join(lines)
