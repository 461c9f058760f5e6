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
    # The name the WhatsApp Business app's address book gives them (coexistence): shown when
    # ``name`` (their profile name) is null, else as "saved as ...".
    saved_name: str | None = None


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


class MarketingOptOut(ApiModel):
    """The customer opted out of marketing messages: MARKETING templates are not sent to them.
    ``source``: ``keyword`` (they sent STOP), ``meta_preference`` (they stopped marketing
    messages in WhatsApp itself) or ``meta_131050`` (Meta refused a send: they had opted out)."""

    source: str
    at: AwareDatetime | None
    keyword: str | None = None


class ConversationLabel(ApiModel):
    """A label on the conversation (labels/): its id, name and ``#rrggbb`` colour."""

    id: str
    name: str
    colour: str


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
    # Set while the customer is opted out of marketing messages (docs/campaigns.md).
    marketing_opt_out: MarketingOptOut | None = None
    # Set once merged into another conversation of the same customer (that one's id): it is in
    # no list, and commands on it are refused (409 ``conversation_merged``).
    merged_into: str | None = None
    # The caller's unread @mentions in the conversation's notes (cleared when they open it).
    mentions_unread: int = 0
    # Its labels (labels/), in the tenant's label order, and when they last changed (the
    # newer of two copies wins: a label change is not on the change feed).
    labels: list[ConversationLabel] = Field(default_factory=list)
    labels_at: AwareDatetime | None = None


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


class MediaArchiveOut(ApiModel):
    """A customer's media in the inbox's own archive (docs/media.md): ``stored`` (served from
    it, also after WhatsApp dropped its copy), ``pending``, or not stored: ``failed``,
    ``too_large`` or ``disallowed_type``, with ``reason`` to show, and ``retryable`` when
    ``POST /api/v1/media/{id}/retry`` may help."""

    status: Literal["pending", "stored", "failed", "too_large", "disallowed_type"]
    reason: str | None = None
    size: int | None = None
    # The limit a too-large file was over (bytes).
    limit: int | None = None
    retryable: bool = False


class MediaOut(ApiModel):
    id: str
    mime_type: str | None
    caption: str | None
    filename: str | None
    url: str
    # Inbound media only; null before the archiver saw it (or for media older than the archive).
    archive: MediaArchiveOut | None = None


class CampaignRef(ApiModel):
    """The campaign that sent an outbound message; ``name`` is null when it cannot be read."""

    id: str
    name: str | None


class EarlierVersion(ApiModel):
    """What an edited message said before (oldest first), and since when."""

    type: str
    text: str
    at: AwareDatetime


class CallOut(ApiModel):
    """A call's thread line (``type`` "call", ``direction`` "system"). ``direction``: who
    called ("inbound": the customer); ``outcome``: ringing, ongoing, answered, missed,
    declined or unanswered; ``text`` says it ("Missed call", "Call answered · 3 min 12 s")."""

    call_id: str
    direction: Direction | None
    outcome: str
    started_at: AwareDatetime | None
    ended_at: AwareDatetime | None
    duration_seconds: int | None


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
    # Inbound, Meta's ``context``: forwarded (up to 5 times) or frequently forwarded (more), and
    # the product a "Message business" tap came from ({catalog_id, product_retailer_id}).
    forwarded: bool = False
    frequently_forwarded: bool = False
    referred_product: dict[str, Any] | None = None
    # Inbound from a Click-to-WhatsApp ad: Meta's ``referral`` verbatim (headline, body,
    # source_url, source_type, image_url / video_url, thumbnail_url, ...).
    referral: dict[str, Any] | None = None
    # Meta's errors on the message itself (an unsupported type, an unavailable message).
    errors: list[MessageError] = Field(default_factory=list)
    # Outbound, sent by a campaign.
    campaign: CampaignRef | None = None
    # Edited: the earlier versions, oldest first (``text``/``content`` are the newest) and when
    # the newest was made. Deleted (``deleted``): no text, content, media or history at all.
    edit_history: list[EarlierVersion] = Field(default_factory=list)
    edited_at: AwareDatetime | None = None
    # Outbound, sent from the WhatsApp Business app on the same number (coexistence).
    from_app: bool = False
    # A call's line.
    call: CallOut | None = None


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
    """An active agent's id (``"me"``: the caller), a team as ``team:<id>``, or null."""

    assignee_id: str | None = Field(min_length=1, max_length=200)
