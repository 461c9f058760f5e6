"""The conversations' JSON shapes (docs/inbox-api.md), as pydantic models: requests in,
answers out."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field

from services.inbox_api.schemas import ApiModel

Direction = Literal["inbound", "outbound"]
# A message's side: "system" for lines WhatsApp adds (the customer changed their number).
MessageDirection = Literal["inbound", "outbound", "system"]
ListFilter = Literal["all", "open", "resolved", "unread", "mine", "unassigned"]


# --- answers -------------------------------------------------------------------------------


class Customer(ApiModel):
    """Who the customer is. ``wa_id`` is null when Meta hides the number (a username user);
    ``user_id`` is their BSUID; ``display_number`` is ``wa_id`` in international format
    ("+34 612 34 56 78"). Show ``name``, then ``@username``, then ``display_number``."""

    wa_id: str | None
    user_id: str | None = None
    username: str | None = None
    name: str | None
    display_number: str | None = None


class LastMessage(ApiModel):
    preview: str
    at: AwareDatetime | None
    direction: Direction | None


class Window(ApiModel):
    """``open`` now; ``expires_at`` = the customer's last message + 24 h (past when it ran out),
    null when the customer never wrote. ``open`` is also false, before ``expires_at``, when
    Meta reported the window closed (131047) since the customer's last message."""

    open: bool
    expires_at: AwareDatetime | None


class AgentReply(ApiModel):
    at: AwareDatetime
    agent_id: str | None


class ConversationOut(ApiModel):
    id: str
    business_phone_number_id: str
    customer: Customer
    last_message: LastMessage | None
    last_activity_at: AwareDatetime | None
    unread_count: int
    status: Literal["open", "resolved"]
    assignee_id: str | None
    window: Window
    last_agent_reply: AgentReply | None
    version: int


class ConversationPage(ApiModel):
    items: list[ConversationOut]
    next_cursor: str | None


class StatusAt(ApiModel):
    status: str
    at: AwareDatetime


class MessageError(ApiModel):
    code: int | None
    title: str | None
    detail: str | None
    reason: str | None
    hint: str | None


class ReplyContext(ApiModel):
    wamid: str
    preview: str | None


class ReactionOut(ApiModel):
    by: Literal["customer", "business"]
    emoji: str


class MediaOut(ApiModel):
    id: str
    mime_type: str | None
    caption: str | None
    filename: str | None
    url: str


class MessageOut(ApiModel):
    id: str
    wamid: str | None
    direction: MessageDirection
    type: str
    text: str
    content: dict[str, Any]
    sent_at: AwareDatetime | None
    status: str
    statuses: list[StatusAt]
    error: MessageError | None
    reply_to: ReplyContext | None
    reactions: list[ReactionOut]
    edited: bool
    deleted: bool
    actor_id: str | None
    media: MediaOut | None
    # Outbound: the sender's reference, echoed on every status (biz_opaque_callback_data).
    reference: str | None = None


class MessagePage(ApiModel):
    items: list[MessageOut]
    next_before: str | None


class CommandAccepted(ApiModel):
    command_id: str
    status: Literal["queued"] = "queued"
    conversation_id: str


# --- requests ------------------------------------------------------------------------------

Wamid = Annotated[str, Field(min_length=1, max_length=512)]
TemplateName = Annotated[str, Field(min_length=1, max_length=512)]
Language = Annotated[str, Field(min_length=2, max_length=20)]
Variables = dict[Annotated[str, Field(min_length=1, max_length=64)],
                 Annotated[str, Field(max_length=1024)]]


class TextIn(ApiModel):
    kind: Literal["text"]
    text: str = Field(min_length=1, max_length=4096)
    reply_to: Wamid | None = None


class TemplateIn(ApiModel):
    kind: Literal["template"]
    template_name: TemplateName
    language: Language = "en_US"
    variables: Variables = Field(default_factory=dict)


SendIn = Annotated[TextIn | TemplateIn, Field(discriminator="kind")]


class NewConversationIn(ApiModel):
    """Open (or continue) a conversation with a template, e.g. to a brand-new customer."""

    business_phone_number_id: str = Field(min_length=1, max_length=64)
    # The customer: a number, a BSUID (a customer who hides their number), or both; at least
    # one (checked with the rest in conversations/commands.py: 422 naming the field).
    customer_wa_id: str | None = Field(default=None, min_length=5, max_length=20,
                                       pattern=r"^\+?[0-9][0-9 ()-]*$")
    customer_user_id: str | None = Field(default=None, min_length=4, max_length=140)
    template_name: TemplateName
    language: Language = "en_US"
    # By key ({"1": .., "first_name": .., "header.1": ..}) or, for the body, by position.
    variables: Variables | list[Annotated[str, Field(max_length=1024)]] = Field(
        default_factory=dict)
    # Echoed on every status of the message (Meta's biz_opaque_callback_data).
    reference: str | None = Field(default=None, min_length=1, max_length=256)


class ReactionIn(ApiModel):
    message_id: Wamid
    emoji: str = Field(default="", max_length=32)


class ReadIn(ApiModel):
    message_id: Wamid | None = None


class StatusIn(ApiModel):
    status: Literal["open", "resolved"]


class AssigneeIn(ApiModel):
    assignee_id: str | None = Field(min_length=1, max_length=200)
