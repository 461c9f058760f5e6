"""Commands on ``inbox.commands.v1``: what agents and other services ask the inbox to do.

Producers: inbox_api (agents in the browser, other services through the API) and campaigns.
Consumers: outbound_sender (sends, reactions, mark-read and typing on WhatsApp) and
conversation_store (assignment, resolve/reopen, read state; its media archiver: media
retries). Every command carries a client-given ``command_id``; it is the idempotency key, unique
within a tenant: the same id is acted on at most once.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter, model_validator

from shared.callback_data import REFERENCE_LIMIT
from shared.events.base import Contract, Event, JsonObject

Priority = Literal["reply", "bulk"]


class Command(Event):
    """Fields every command shares. ``conversation_id`` is required for commands."""

    conversation_id: str
    command_id: str = Field(min_length=1, max_length=200)
    # Who asked: an agent id, or a service name for service credentials.
    actor_id: str | None = None


class SendCommand(Command):
    """Fields every send shares."""

    business_phone_number_id: str
    # At least one of the two: the sender sends ``to`` = the number when it is known, else
    # ``recipient`` = the BSUID (a customer who hides their number).
    customer_wa_id: str | None = None
    customer_user_id: str | None = None
    # Agent replies go before bulk (campaign) traffic on the same number.
    priority: Priority = "reply"
    campaign_id: str | None = None
    reply_to_wamid: str | None = None
    # Meta echoes this back on every status webhook of the message, beside the command id, in
    # ``biz_opaque_callback_data`` (shared/callback_data.py: both must fit in Meta's 512).
    reference: str | None = Field(default=None, max_length=REFERENCE_LIMIT)

    @model_validator(mode="after")
    def _needs_a_recipient(self) -> SendCommand:
        if not self.customer_wa_id and not self.customer_user_id:
            raise ValueError("a send needs customer_wa_id or customer_user_id")
        return self


class SendText(SendCommand):
    """Send a free-form text. Allowed only inside the customer-service window."""

    type: Literal["command.send_text"] = "command.send_text"
    text: str = Field(min_length=1, max_length=4096)
    preview_url: bool = False


class TemplateComponent(Contract):
    """One component of a template send, in Meta's shape (header, body, button parameters)."""

    type: Literal["header", "body", "button"]
    sub_type: str | None = None
    index: int | None = None
    parameters: list[JsonObject] = Field(default_factory=list)


class SendTemplate(SendCommand):
    """Send an approved template with its variables. Allowed whether the window is open or not."""

    type: Literal["command.send_template"] = "command.send_template"
    template_name: str
    language: str
    components: list[TemplateComponent] = Field(default_factory=list)
    # The template text with variables filled, as the thread should show it.
    rendered_text: str | None = None


class SendMedia(SendCommand):
    """Send an image, video, audio, document or sticker, by uploaded media id or by link."""

    type: Literal["command.send_media"] = "command.send_media"
    media_type: Literal["image", "video", "audio", "document", "sticker"]
    media_id: str | None = None
    link: str | None = None
    caption: str | None = Field(default=None, max_length=1024)
    filename: str | None = None


class React(SendCommand):
    """React to a message with an emoji; an empty emoji removes the reaction."""

    type: Literal["command.react"] = "command.react"
    message_wamid: str
    emoji: str = ""


class MarkRead(Command):
    """The agent read the conversation up to a message: clears unread; blue ticks on WhatsApp.

    inbox_api fills ``message_wamid`` with the customer's newest message when the agent names
    none (None only when the customer never wrote). The store clears unread up to it (None: up
    to ``occurred_at``); the sender marks it read at Meta once per message (Meta marks every
    earlier message read too), unless ``send_receipt`` is False: the tenant turned read
    receipts off, so only the agents' unread clears."""

    type: Literal["command.mark_read"] = "command.mark_read"
    business_phone_number_id: str
    message_wamid: str | None = None
    send_receipt: bool = True


class ShowTyping(Command):
    """An agent is typing a reply: the sender shows WhatsApp's typing indicator to the customer
    (Meta's mark-as-read with ``typing_indicator``, which also marks ``message_wamid`` read;
    shown up to 25 s or until the reply). inbox_api publishes it only while the window is open
    and at most once per 10 s per agent and conversation; the sender drops one that waited too
    long to still be true (shared/typing_indicator.py)."""

    type: Literal["command.typing"] = "command.typing"
    business_phone_number_id: str
    # The customer's newest message (Meta's typing call names the message being answered).
    message_wamid: str = Field(min_length=1)


class AssignConversation(Command):
    """Assign the conversation to an agent, or unassign it (``assignee_id`` None)."""

    type: Literal["command.assign"] = "command.assign"
    assignee_id: str | None = None


class SetConversationStatus(Command):
    """Resolve or reopen a conversation. A new inbound message reopens it anyway."""

    type: Literal["command.set_status"] = "command.set_status"
    status: Literal["open", "resolved"]


class RetryMediaDownload(Command):
    """An agent asks for a customer's media to be downloaded into the media archive again (it
    failed or was refused, or it arrived before the archive existed). conversation_store's media
    archiver acts on it (docs/media.md); the store's fold and the sender ignore it. inbox_api
    fills the fields from the archive record, else from the message that carries the media."""

    type: Literal["command.retry_media"] = "command.retry_media"
    business_phone_number_id: str
    media_id: str = Field(min_length=1, max_length=200)
    message_wamid: str = Field(min_length=1)
    # WhatsApp's kind (image, video, audio, document, sticker) and what the message announced.
    media_type: str
    mime_type: str | None = None
    filename: str | None = None
    sha256: str | None = None


AnySend = SendText | SendTemplate | SendMedia | React
InboxCommand = Annotated[
    SendText
    | SendTemplate
    | SendMedia
    | React
    | MarkRead
    | ShowTyping
    | AssignConversation
    | SetConversationStatus
    | RetryMediaDownload,
    Field(discriminator="type"),
]
INBOX_COMMANDS_ADAPTER: TypeAdapter[InboxCommand] = TypeAdapter(InboxCommand)
