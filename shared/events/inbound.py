"""Events on ``whatsapp.inbound.v1``: what Meta told us, normalized, one event per thing.

webhook_ingest is the producer (conversation_store re-publishes, keyed by the survivor, what
reaches a merged conversation, and hands an absorbed one's content over: shared/events/merges.py).
Meta's raw payload shapes never travel past webhook_ingest: each ``entry[].changes[]`` item becomes
one of the events below. Fields the parser does not know are
kept in ``extra`` (or the whole value in :class:`WebhookChangeUnhandled`), so a new Meta field
never loses data.

Size: the topic's whole contract in one place (messages, echoes, statuses, template and number
events, and the union a consumer decodes), read side by side with Meta's webhook reference.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, JsonValue, TypeAdapter

from shared.events.account import AccountNoticeReceived
from shared.events.base import Contract, Event, JsonObject
from shared.events.customer import AppContactSynced, CallUpdated, MarketingPreferenceChanged
from shared.events.merges import ConversationAbsorbed, ConversationMerged


class MetaError(Contract):
    """An error as Meta reports it (in a status, an inbound message, or a webhook value)."""

    code: int
    title: str | None = None
    message: str | None = None
    details: str | None = None
    href: str | None = None


class CustomerProfile(Contract):
    """The customer as the webhook's ``contacts[]`` names them.

    ``wa_id`` is None when Meta hides the number (a username user outside its contact book);
    ``user_id`` is the business-scoped user id (BSUID, ``US.1349...``), ``parent_user_id`` the
    parent BSUID (``US.ENT.118...``) when Meta linked portfolios. ``username`` is for display
    only, never a key: it changes.
    """

    wa_id: str | None = None
    name: str | None = None
    user_id: str | None = None
    parent_user_id: str | None = None
    username: str | None = None


class ReplyContext(Contract):
    """What an inbound message refers to: a quoted message, a forward, a product."""

    message_id: str | None = None
    from_number: str | None = None
    forwarded: bool = False
    frequently_forwarded: bool = False
    referred_product: JsonObject | None = None


class IdentityChange(Contract):
    """A ``system`` message saying the customer's number or BSUID changed.

    ``kind`` ``number`` is Meta's ``user_changed_number`` (``new_wa_id`` the new number, and the
    new BSUID when Meta sent one); ``user_id`` is ``user_changed_user_id`` (a new BSUID, no
    number). The message itself is addressed by the old identifiers.
    """

    kind: Literal["number", "user_id"]
    new_wa_id: str | None = None
    new_user_id: str | None = None


class InboundMessage(Contract):
    """A message a customer sent to a business number, as WhatsApp delivered it.

    An edit (``message_type`` ``edit``) and a deletion (``revoke``) are messages too: their
    ``original_wamid`` names the message they change; an edit's ``content`` is the new type
    object and ``edited_type`` its type (Meta's ``edit.message``).
    """

    wamid: str
    # Meta's type, kept verbatim: text, image, audio, video, document, sticker, location, contacts,
    # interactive, button, reaction, order, system, unsupported, request_welcome, edit, revoke,
    # or a new one.
    message_type: str
    sent_at: AwareDatetime
    business_phone_number_id: str
    business_display_number: str | None = None
    # None when Meta hides the number; then ``from_user_id`` (the BSUID) names the customer.
    from_wa_id: str | None
    from_user_id: str | None = None
    customer: CustomerProfile | None = None
    # The type-specific object (``text``, ``image``, ...) exactly as Meta sent it.
    content: JsonObject = Field(default_factory=dict)
    # A short human-readable text for lists and notifications (body, caption, emoji, ...).
    preview: str = ""
    context: ReplyContext | None = None
    referral: JsonObject | None = None
    errors: list[MetaError] = Field(default_factory=list)
    # Set for ``system`` messages ``user_changed_number`` / ``user_changed_user_id``.
    identity_change: IdentityChange | None = None
    # ``edit`` / ``revoke``: the message changed; ``edit``: the new content's type.
    original_wamid: str | None = None
    edited_type: str | None = None
    # From the WhatsApp Business app's chat-history sync (``history``), not a live message: it
    # neither counts as unread nor notifies anyone.
    history: bool = False
    # Top-level message fields this parser does not know yet.
    extra: JsonObject = Field(default_factory=dict)


class MessageReceived(Event):
    """A customer sent a message (any type, reactions included). Emitted by webhook_ingest."""

    type: Literal["message.received"] = "message.received"
    payload: InboundMessage


class MessageEchoed(Event):
    """A message the business sent from the WhatsApp Business app on the same number
    (coexistence: ``smb_message_echoes``, or a business message of a ``history`` sync). Emitted by
    webhook_ingest.

    The payload is an :class:`InboundMessage` whose ``from_wa_id`` / ``from_user_id`` /
    ``customer`` name the CUSTOMER (the echo's ``to`` / ``to_user_id``), so the conversation is
    resolved exactly as for the customer's own messages. It is a business message: it never
    opens the customer's window and is never unread. Edits and deletions made in the app arrive
    as echoes with ``message_type`` ``edit`` / ``revoke``.
    """

    type: Literal["message.echoed"] = "message.echoed"
    payload: InboundMessage


class StatusUpdate(Contract):
    """Meta's report on one outbound message: sent, delivered, read, played, failed, or new."""

    wamid: str
    status: str
    at: AwareDatetime
    business_phone_number_id: str
    # None when Meta hides the number; then ``recipient_user_id`` (the BSUID) names the customer.
    recipient_wa_id: str | None
    recipient_user_id: str | None = None
    recipient_username: str | None = None
    errors: list[MetaError] = Field(default_factory=list)
    pricing: JsonObject | None = None
    conversation: JsonObject | None = None
    # Verbatim, as Meta echoed it; ``command_id`` and ``reference`` are what it says when our
    # sender wrote it (shared/callback_data.py), else the whole value is the reference.
    biz_opaque_callback_data: str | None = None
    # The command that sent the message: names it even when its send was in doubt.
    command_id: str | None = None
    reference: str | None = None
    extra: JsonObject = Field(default_factory=dict)


class MessageStatusChanged(Event):
    """Meta reported a status for an outbound message. Emitted by webhook_ingest."""

    type: Literal["status.changed"] = "status.changed"
    payload: StatusUpdate


class TemplateStatus(Contract):
    """A template's review or lifecycle change (APPROVED, REJECTED, PAUSED, DISABLED, ...)."""

    waba_id: str
    template_id: str
    name: str
    language: str
    event: str
    reason: str | None = None
    category: str | None = None
    extra: JsonObject = Field(default_factory=dict)


class TemplateStatusChanged(Event):
    """Meta changed a template's status (``message_template_status_update``)."""

    type: Literal["template.status_changed"] = "template.status_changed"
    payload: TemplateStatus


class TemplateQuality(Contract):
    """A template's quality score change (GREEN, YELLOW, RED, UNKNOWN)."""

    waba_id: str
    template_id: str
    name: str
    language: str
    previous_score: str | None = None
    new_score: str
    extra: JsonObject = Field(default_factory=dict)


class TemplateQualityChanged(Event):
    """Meta changed a template's quality score (``message_template_quality_update``)."""

    type: Literal["template.quality_changed"] = "template.quality_changed"
    payload: TemplateQuality


class TemplateCategory(Contract):
    """Meta re-categorized a template (``template_category_update``)."""

    waba_id: str
    template_id: str
    name: str
    language: str
    previous_category: str | None = None
    new_category: str
    extra: JsonObject = Field(default_factory=dict)


class TemplateCategoryChanged(Event):
    """Meta changed a template's category (``template_category_update``)."""

    type: Literal["template.category_changed"] = "template.category_changed"
    payload: TemplateCategory


class TemplateComponents(Contract):
    """``message_template_components_update``: Meta changed a template's content."""

    waba_id: str
    template_id: str
    name: str
    language: str
    header: str | None = None  # ``message_template_title``
    body: str | None = None  # ``message_template_element``
    footer: str | None = None  # ``message_template_footer``
    buttons: list[JsonObject] = Field(default_factory=list)  # ``message_template_buttons``
    extra: JsonObject = Field(default_factory=dict)


class TemplateComponentsChanged(Event):
    """A template's components changed at Meta. Emitted by webhook_ingest."""

    type: Literal["template.components_changed"] = "template.components_changed"
    payload: TemplateComponents


class PhoneNumberQuality(Contract):
    """A business number's quality or messaging-limit change (``phone_number_quality_update``)."""

    waba_id: str
    display_phone_number: str | None = None
    event: str
    current_limit: str | None = None
    extra: JsonObject = Field(default_factory=dict)


class PhoneNumberQualityChanged(Event):
    """Meta changed a business number's quality rating or limit. Emitted by webhook_ingest."""

    type: Literal["phone_number.quality_changed"] = "phone_number.quality_changed"
    payload: PhoneNumberQuality


class WebhookErrors(Contract):
    """Errors Meta reported at the webhook value level (system or account problems)."""

    waba_id: str
    field: str
    business_phone_number_id: str | None = None
    errors: list[MetaError]


class WebhookErrorsReported(Event):
    """Meta reported errors not tied to one message. Emitted by webhook_ingest."""

    type: Literal["webhook.errors_reported"] = "webhook.errors_reported"
    payload: WebhookErrors


class WebhookChange(Contract):
    """A webhook change this version does not understand, kept whole."""

    waba_id: str
    field: str
    value: JsonValue


class WebhookChangeUnhandled(Event):
    """A webhook field with no parser yet; its raw value is kept so nothing is lost."""

    type: Literal["webhook.unhandled"] = "webhook.unhandled"
    payload: WebhookChange


InboundEvent = Annotated[
    MessageReceived
    | MessageEchoed
    | MessageStatusChanged
    | ConversationMerged
    | ConversationAbsorbed
    | TemplateStatusChanged
    | TemplateQualityChanged
    | TemplateCategoryChanged
    | TemplateComponentsChanged
    | PhoneNumberQualityChanged
    | MarketingPreferenceChanged
    | CallUpdated
    | AppContactSynced
    | AccountNoticeReceived
    | WebhookErrorsReported
    | WebhookChangeUnhandled,
    Field(discriminator="type"),
]
INBOUND_EVENTS: TypeAdapter[InboundEvent] = TypeAdapter(InboundEvent)
