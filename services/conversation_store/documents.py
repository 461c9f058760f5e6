"""The documents the store writes: one ``conversations`` document per thread, one ``messages`` per
message. docs/data-model.md describes them for readers (inbox_api); this module is the definition.

Both carry a ``fold`` sub-document: bookkeeping the fold needs to stay idempotent (positions
applied, unread wamids, reaction clocks, edits' targets). Readers ignore it.

Size: the two documents and every part of them, in one place, as docs/data-model.md lists them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.base import JsonObject

ConversationStatus = Literal["open", "resolved"]
Direction = Literal["inbound", "outbound"]
# A message's side: "system" for lines WhatsApp adds to a thread (an identity change).
MessageDirection = Literal["inbound", "outbound", "system"]


class Doc(BaseModel):
    """Immutable, ``_id`` aliased; datetimes stay ``datetime`` so BSON stores them as dates."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    def to_document(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True)


class UnreadEntry(Doc):
    """An inbound message the agents have not read yet, with when it reached us."""

    wamid: str
    at: datetime


class EditLink(Doc):
    """An edit applied in this conversation: its wamid, and the wamid of the message it changed
    (edits.py: a deletion or edit may name the edit rather than the message)."""

    wamid: str
    target: str
    at: datetime  # WhatsApp's time of the edit


class ConversationFold(Doc):
    """What the fold remembers so a replayed or duplicated event changes nothing."""

    # "{source}:{partition}" -> last offset applied to this conversation (in/out/cmd topics).
    positions: dict[str, int] = Field(default_factory=dict)
    # The most recent unread inbound messages, oldest first (capped; the count is exact anyway).
    unread: list[UnreadEntry] = Field(default_factory=list)
    # Ids of recently applied commands: a re-published command with a new event id is a duplicate.
    commands: list[str] = Field(default_factory=list)
    # "customer_wa_id" ... -> the clock of the current value, "{epoch ms}.{rank}.{value}"
    # (identity.py): the greatest wins, whatever order the events come in.
    identity: dict[str, str] = Field(default_factory=dict)
    # The edits applied to the thread's messages, oldest first (the newest edits.EDIT_LINKS).
    edits: list[EditLink] = Field(default_factory=list)


class Conversation(Doc):
    """One thread: a tenant's business number and one customer."""

    id: str = Field(alias="_id")
    tenant_id: str
    business_phone_number_id: str
    business_display_number: str | None = None
    # The customer's current number (canonical); None while Meta hides it (a conversation
    # keyed by a BSUID), filled when an event brings it.
    customer_wa_id: str | None = None
    # Every spelling of the customer's number seen (Brazil's 9th digit, Mexico's 521, ...).
    customer_wa_ids: list[str] = Field(default_factory=list)
    # The current business-scoped user id (BSUID), parent BSUID and username (display only).
    customer_user_id: str | None = None
    customer_parent_user_id: str | None = None
    customer_username: str | None = None
    # Every BSUID seen (a number change gives the customer a new one).
    customer_user_ids: list[str] = Field(default_factory=list)
    contact_name: str | None = None
    contact_name_at: datetime | None = None
    # Lowercased name words and number spellings, for prefix search.
    search_keys: list[str] = Field(default_factory=list)
    last_message_id: str | None = None
    last_message_preview: str = ""
    last_message_at: datetime | None = None
    last_message_direction: Direction | None = None
    last_message_sort_key: str | None = None
    # The list's sort key: the time of the latest message (None until a message is shown).
    last_activity_at: datetime | None = None
    last_inbound_at: datetime | None = None
    window_expires_at: datetime | None = None
    # Meta's time of its latest 131047 (window closed) for this conversation; it closes the
    # window while at or after ``last_inbound_at`` (shared/window.py).
    window_closed_at: datetime | None = None
    unread_count: int = 0
    last_read_at: datetime | None = None
    last_read_by: str | None = None
    status: ConversationStatus = "open"
    status_changed_at: datetime | None = None
    status_changed_by: str | None = None
    assignee_id: str | None = None
    assigned_at: datetime | None = None
    assigned_by: str | None = None
    last_agent_reply_at: datetime | None = None
    last_agent_id: str | None = None
    # False while the conversation has no visible message, only what came before one (a status
    # of a message sent elsewhere, a reaction, an edit, an app contact): the lists skip it
    # (listing.py). Documents written before this field read as listed.
    listed: bool = True
    # The name the WhatsApp Business app's address book gives the customer (app_contacts.py),
    # and the time of the sync that set or cleared it.
    app_contact_name: str | None = None
    app_contact_name_at: datetime | None = None
    # Set when this conversation was merged into another one of the same customer (merge.py):
    # hidden from the lists; whatever comes for it later is forwarded there.
    merged_into: str | None = None
    merged_at: datetime | None = None
    # The conversations merged into this one, and theirs (a merge back would be a cycle).
    merged_from: list[str] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    version: int = 0
    fold: ConversationFold = Field(default_factory=ConversationFold)


class ErrorInfo(Doc):
    """Why a message failed or was refused; ``source`` says who said so."""

    source: Literal["meta", "policy", "sender"]
    code: int | None = None
    title: str | None = None
    message: str | None = None
    details: str | None = None
    href: str | None = None
    # For policy refusals: the machine reason and the hint for the agent.
    reason: str | None = None
    hint: str | None = None


class StatusEntry(Doc):
    """One status the message went through, with when (WhatsApp's time for Meta's statuses)."""

    status: str
    at: datetime
    error: ErrorInfo | None = None


class Reaction(Doc):
    """A current reaction on a message; ``by`` is the customer or the business."""

    by: Literal["customer", "business"]
    emoji: str
    at: datetime
    wamid: str | None = None
    actor_id: str | None = None


class ReplyTo(Doc):
    """What a message refers to: a quoted message, a forward, a product."""

    wamid: str | None = None
    from_number: str | None = None
    forwarded: bool = False
    frequently_forwarded: bool = False
    referred_product: JsonObject | None = None


class MessageFold(Doc):
    """The reaction clock per reactor: a late, older reaction (or removal) never wins."""

    reaction_at: dict[str, datetime] = Field(default_factory=dict)
    # The wamid of the edit whose content is shown (edits.py); None: the original's.
    edit: str | None = None


class MessageVersion(Doc):
    """One version of an edited message (edits.py): the original, or what an edit made of it.
    ``wamid`` is the original's, or the edit's own."""

    wamid: str | None = None
    at: datetime
    message_type: str
    content: JsonObject = Field(default_factory=dict)
    preview: str = ""


class Revoked(Doc):
    """A deleted message's content and earlier versions, kept for audit (edits.py). inbox_api
    never reads it: the agents see "This message was deleted"."""

    content: JsonObject = Field(default_factory=dict)
    preview: str = ""
    edit_history: list[MessageVersion] = Field(default_factory=list)


class CallEvent(Doc):
    """One report on a call (connect, status, terminate), as Meta sent it (calls.py)."""

    event: str | None = None
    status: str | None = None
    at: datetime
    direction: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_seconds: int | None = None


class CallLine(Doc):
    """A call's thread line (calls.py): what its reports say together, in any order."""

    call_id: str
    # "inbound": the customer called (USER_INITIATED); "outbound": the business did.
    direction: Literal["inbound", "outbound"] | None = None
    # ringing, ongoing, answered, missed, declined, unanswered
    outcome: str = "ringing"
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_seconds: int | None = None
    events: list[CallEvent] = Field(default_factory=list)


class Message(Doc):
    """One message of a thread, inbound or outbound, or a stub holding what came before it."""

    id: str = Field(alias="_id")
    tenant_id: str
    conversation_id: str
    business_phone_number_id: str
    direction: MessageDirection
    wamid: str | None = None
    # Inbound: the sender's BSUID, as the message named them.
    from_user_id: str | None = None
    command_id: str | None = None
    message_type: str = "unknown"
    content: JsonObject = Field(default_factory=dict)
    preview: str = ""
    # WhatsApp's time (inbound timestamp; for outbound, when the Cloud API accepted it).
    sent_at: datetime | None = None
    received_at: datetime | None = None
    # Thread order: WhatsApp's time, then arrival, then the id. None for stubs.
    sort_key: str | None = None
    # False for stubs and reaction carriers: the thread query shows visible messages only.
    visible: bool = True
    # A placeholder: a status, reaction or edit arrived before the message itself.
    stub: bool = False
    status: str | None = None
    status_at: datetime | None = None
    statuses: list[StatusEntry] = Field(default_factory=list)
    error: ErrorInfo | None = None
    # Outbound: what the sender did (accepted, refused, failed, unknown).
    outcome: str | None = None
    # Outbound templates under pacing: accepted, held_for_quality_assessment, paused.
    pacing: str | None = None
    reply_to: ReplyTo | None = None
    reactions: list[Reaction] = Field(default_factory=list)
    edited: bool = False
    deleted: bool = False
    # Edits (edits.py): the earlier versions, oldest first (the content fields hold the newest),
    # and when the shown version was made. A deleted message keeps them only in ``revoked``.
    edit_history: list[MessageVersion] = Field(default_factory=list)
    edited_at: datetime | None = None
    deleted_at: datetime | None = None
    revoked: Revoked | None = None
    # Outbound, sent from the WhatsApp Business app on the same number (echoes.py).
    from_app: bool = False
    # From the WhatsApp Business app's chat-history sync: never unread, never notified.
    history: bool = False
    # A call's line (``message_type`` "call", ``direction`` "system"; calls.py).
    call: CallLine | None = None
    actor_id: str | None = None
    campaign_id: str | None = None
    reference: str | None = None
    referral: JsonObject | None = None
    errors: list[ErrorInfo] = Field(default_factory=list)
    pricing: JsonObject | None = None
    version: int = 0
    fold: MessageFold = Field(default_factory=MessageFold)


def ms(value: datetime) -> datetime:
    """UTC at millisecond precision: what BSON keeps, so a reloaded time compares equal."""
    if value.tzinfo is UTC and value.microsecond % 1000 == 0:
        return value  # already normalised (the fold calls this often)
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def epoch_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def sort_key(sent_at: datetime, received_at: datetime, tiebreak: str) -> str:
    """Lexicographic = chronological: WhatsApp's time, then our arrival time, then the id."""
    return f"{epoch_ms(sent_at):014d}.{epoch_ms(received_at):014d}.{tiebreak}"


def message_id(conversation_id: str, wamid: str) -> str:
    """The ``_id`` of a message known by its wamid (inbound messages, stubs)."""
    return f"{conversation_id}/{wamid}"


def command_message_id(conversation_id: str, command_id: str) -> str:
    """The ``_id`` of an outbound message: its command id, stable whatever the outcome."""
    return f"{conversation_id}/cmd:{command_id}"
