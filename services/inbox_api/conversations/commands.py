"""The agents' commands: pre-checked with the shared window policy (and Meta's account notices,
a customer's marketing opt-out) as the sender will decide, then published.

A send the policy refuses is answered 409 with the reason and hint and publishes nothing; the
sender re-checks anyway (it is the authority: the window may close between check and send).
``command_id`` is derived from (tenant, Idempotency-Key) when the client sends one, so a retried
request is the same command downstream (the sender and the store act on a command id once).

Size: one class for every command on a conversation (sends, reactions, read and typing, status,
assignment), because they share its steps (the tenant's conversation and number, the window and
account pre-checks, the command id, publishing); split by command, each part would need them all.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Protocol

from services.inbox_api.accounts.credentials import Identity
from services.inbox_api.accounts.ownership import own_channel
from services.inbox_api.conversations.attachments import (
    Attachment,
    AttachmentRejected,
    check_attachment,
)
from services.inbox_api.conversations.customers import Customer, new_customer
from services.inbox_api.conversations.customers import of_conversation as _customer
from services.inbox_api.conversations.ports import (
    AccountNotices,
    Assignees,
    Clock,
    CommandPublisher,
    Document,
    InboxRepository,
    MediaFile,
    MediaUploader,
)
from services.inbox_api.conversations.preferences import is_opted_out
from services.inbox_api.conversations.schemas import (
    AssigneeIn,
    CommandAccepted,
    NewConversationIn,
    ReactionIn,
    ReadIn,
    StatusIn,
    TemplateIn,
    TextIn,
)
from services.inbox_api.errors import (
    InboxApiError,
    InvalidInput,
    Merged,
    NotFound,
    SendRefused,
    TooLarge,
    TooManyRequests,
    UnsupportedMedia,
)
from services.inbox_api.metrics import COMMANDS, REFUSED
from services.inbox_api.templates.variables import TemplateVariablesError, fill_components
from shared import account_policy
from shared.account_health import Notice
from shared.account_policy import Initiator
from shared.channels import Channel
from shared.contacts import derived_conversation_id
from shared.events import (
    AssignConversation,
    MarkRead,
    React,
    SendMedia,
    SendTemplate,
    SendText,
    SetConversationStatus,
    ShowTyping,
)
from shared.events.commands import Command
from shared.marketing import OPTED_OUT, customer_opt_out_id, is_marketing
from shared.typing_indicator import TYPING_INTERVAL, TypingThrottle
from shared.window import Decision, MessageKind, Refused, decide, is_window_open

_IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1d3c52-8f4e-4f7b-9a57-2b1f3e0c9d11")


def command_id_for(tenant_id: str, idempotency_key: str | None) -> str:
    """The same (tenant, key) always gives the same id; no key gives a fresh one."""
    if idempotency_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(_IDEMPOTENCY_NAMESPACE, f"{tenant_id}\n{idempotency_key}"))


class Contacts(Protocol):
    """The contact directory (shared/contact_directory.py ``ContactDirectory``): a customer's
    conversation on a business number, by number, BSUID or both (writes the aliases it lacked)."""

    async def resolve(self, pnid: str, tenant_id: str, wa_id: str | None,
                      user_id: str | None) -> str: ...


class InboxCommands:
    """Each method checks, builds one command, publishes it and answers 202's body.

    ``contacts`` is the directory a new conversation's id comes from; without one (unit tests,
    tools) the id is derived from the identifiers given (shared/contacts.py)."""

    def __init__(self, repository: InboxRepository, publisher: CommandPublisher,
                 clock: Clock, uploader: MediaUploader, contacts: Contacts | None = None,
                 typing_throttle: TypingThrottle | None = None,
                 notices: AccountNotices | None = None,
                 assignees: Assignees | None = None) -> None:
        self.repository = repository
        # Whom a conversation may be assigned to (teams/); None: any id (unit tests, tools).
        self.assignees = assignees
        # Meta's account notices, pre-checked as the sender will (None: no pre-check).
        self.notices = notices
        self.publisher = publisher
        self.clock = clock
        self.uploader = uploader
        self.contacts = contacts
        self.typing_throttle = typing_throttle or TypingThrottle()

    async def send(self, who: Identity, conversation_id: str, body: TextIn | TemplateIn,
                   idempotency_key: str | None) -> CommandAccepted:
        doc = await self._conversation(who, conversation_id)
        command_id = command_id_for(who.tenant_id, idempotency_key)
        now = self.clock()
        number, customer = doc["business_phone_number_id"], _customer(doc)
        command: Command
        if isinstance(body, TextIn):
            _check(_free_form(doc, now))
            await self._account_check(who, number, Initiator.CUSTOMER, now)
            command = SendText(occurred_at=now, tenant_id=who.tenant_id,
                               conversation_id=conversation_id, command_id=command_id,
                               actor_id=who.agent_id, business_phone_number_id=number,
                               **customer, text=body.text,
                               reply_to_wamid=body.reply_to, reference=command_id)
        else:
            channel = await self._channel(who, number)
            command = await self._template(who, channel, conversation_id, customer, body,
                                           command_id, doc.get("last_inbound_at"), now,
                                           closed_at=doc.get("window_closed_at"))
        return await self._publish(command)

    async def open_conversation(self, who: Identity, body: NewConversationIn,
                                idempotency_key: str | None) -> CommandAccepted:
        """A template to any customer of one of the tenant's numbers (first contact, too)."""
        customer = new_customer(body.customer_wa_id, body.customer_user_id)
        channel = await self._channel(who, body.business_phone_number_id)
        cid = await self._conversation_id(who, channel, customer)
        existing = await self.repository.conversation(who.tenant_id, cid)
        if existing is not None and existing.get("merged_into"):
            # An alias this replica cached before a merge: the survivor is the customer's.
            cid = existing["merged_into"]
            existing = await self.repository.conversation(who.tenant_id, cid)
        variables = body.variables if isinstance(body.variables, dict) else {
            str(n): v for n, v in enumerate(body.variables, start=1)}
        template = TemplateIn(kind="template", template_name=body.template_name,
                              language=body.language, variables=variables)
        command = await self._template(
            who, channel, cid, customer, template, command_id_for(who.tenant_id, idempotency_key),
            existing.get("last_inbound_at") if existing else None, self.clock(),
            reference=body.reference,
            closed_at=existing.get("window_closed_at") if existing else None)
        return await self._publish(command)

    async def send_media(self, who: Identity, conversation_id: str, attachment: Attachment,
                         idempotency_key: str | None) -> CommandAccepted:
        """A file inside the window: checked against WhatsApp's media rules, uploaded with the
        number's token, and sent by the media id Meta returns (never a link, which Meta would
        fetch and cache for 10 minutes only). A failed upload publishes nothing."""
        doc = await self._conversation(who, conversation_id)
        now = self.clock()
        _check(_free_form(doc, now))
        await self._account_check(who, doc["business_phone_number_id"], Initiator.CUSTOMER, now)
        try:
            spec = check_attachment(attachment)
        except AttachmentRejected as exc:
            error: type[InboxApiError] = _REJECTIONS[exc.problem]
            raise error(str(exc), code=exc.code,
                        **({"field": exc.field} if exc.field else {})) from None
        channel = await self._channel(who, doc["business_phone_number_id"])
        media_id = await self.uploader.upload(channel, MediaFile(
            filename=spec.filename, mime_type=spec.mime_type, content=attachment.content))
        command_id = command_id_for(who.tenant_id, idempotency_key)
        return await self._publish(SendMedia(
            occurred_at=now, tenant_id=who.tenant_id, conversation_id=conversation_id,
            command_id=command_id, actor_id=who.agent_id,
            business_phone_number_id=channel.phone_number_id,
            **_customer(doc), media_type=spec.media_type,
            media_id=media_id, caption=spec.caption,
            filename=spec.filename if spec.media_type == "document" else None,
            reply_to_wamid=attachment.reply_to, reference=command_id))

    async def react(self, who: Identity, conversation_id: str, body: ReactionIn,
                    idempotency_key: str | None) -> CommandAccepted:
        doc = await self._conversation(who, conversation_id)
        now = self.clock()
        # Meta treats a reaction as a free-form message: the window must be open.
        _check(_free_form(doc, now))
        await self._account_check(who, doc["business_phone_number_id"], Initiator.CUSTOMER, now)
        command_id = command_id_for(who.tenant_id, idempotency_key)
        return await self._publish(React(
            occurred_at=now, tenant_id=who.tenant_id, conversation_id=conversation_id,
            command_id=command_id, actor_id=who.agent_id,
            business_phone_number_id=doc["business_phone_number_id"],
            **_customer(doc), message_wamid=body.message_id,
            emoji=body.emoji, reference=command_id))

    async def mark_read(self, who: Identity, conversation_id: str, body: ReadIn,
                        idempotency_key: str | None) -> CommandAccepted:
        """Read up to a customer's message: the one named, else their newest (the server
        decides; the browser sends nothing). The command carries it to the store (unread) and
        to the sender, which marks it read on WhatsApp once per message unless the tenant
        turned read receipts off."""
        doc = await self._conversation(who, conversation_id)
        wamid: str | None = None
        if body.message_id is not None:
            wamid = await self.repository.customer_wamid(who.tenant_id, conversation_id,
                                                         body.message_id)
            if wamid is None:
                raise InvalidInput("message_id: not a message the customer sent in this "
                                   "conversation.", code="not_a_customer_message",
                                   field="message_id")
        elif doc.get("last_inbound_at") is not None:
            wamid = await self.repository.customer_wamid(who.tenant_id, conversation_id)
        settings = await self.repository.tenant_settings(who.tenant_id)
        return await self._publish(MarkRead(
            occurred_at=self.clock(), tenant_id=who.tenant_id, conversation_id=conversation_id,
            command_id=command_id_for(who.tenant_id, idempotency_key), actor_id=who.agent_id,
            business_phone_number_id=doc["business_phone_number_id"],
            message_wamid=wamid, send_receipt=settings.read_receipts))

    async def typing(self, who: Identity, conversation_id: str) -> CommandAccepted:
        """WhatsApp's typing indicator for the customer's newest message, while the window is
        open and the tenant has read receipts on (Meta's typing call marks the message read);
        at most one per agent and conversation every 10 s (shared/typing_indicator.py), on this
        replica, and the sender keeps to one per conversation whichever replica was asked."""
        doc = await self._conversation(who, conversation_id)
        now = self.clock()
        _check(_free_form(doc, now))
        if not (await self.repository.tenant_settings(who.tenant_id)).read_receipts:
            raise SendRefused("Your team turned read receipts off; WhatsApp's typing indicator "
                              "would mark the customer's message read, so it is off too.",
                              code="read_receipts_off")
        wamid = await self.repository.customer_wamid(who.tenant_id, conversation_id)
        if wamid is None:
            raise SendRefused("The customer has no message to answer yet.",
                              code="no_customer_message")
        key = (who.tenant_id, conversation_id, who.agent_id)
        wait = self.typing_throttle.take(key, now)
        if wait > 0:
            seconds = math.ceil(wait)
            raise TooManyRequests(f"The typing indicator was shown less than "
                                  f"{TYPING_INTERVAL.seconds} s ago; ask again in {seconds} s.",
                                  code="typing_too_soon", retry_after_seconds=seconds)
        try:
            return await self._publish(ShowTyping(
                occurred_at=now, tenant_id=who.tenant_id, conversation_id=conversation_id,
                command_id=command_id_for(who.tenant_id, None), actor_id=who.agent_id,
                business_phone_number_id=doc["business_phone_number_id"], message_wamid=wamid))
        except BaseException:
            self.typing_throttle.give_back(key, now)  # nothing was asked of WhatsApp
            raise

    async def set_status(self, who: Identity, conversation_id: str, body: StatusIn,
                         idempotency_key: str | None) -> CommandAccepted:
        await self._conversation(who, conversation_id)
        return await self._publish(SetConversationStatus(
            occurred_at=self.clock(), tenant_id=who.tenant_id, conversation_id=conversation_id,
            command_id=command_id_for(who.tenant_id, idempotency_key), actor_id=who.agent_id,
            status=body.status))

    async def assign(self, who: Identity, conversation_id: str, body: AssigneeIn,
                     idempotency_key: str | None) -> CommandAccepted:
        """To an active agent of the tenant (``"me"``: the caller), a team (``team:<id>``), or
        nobody (null); anything else is 422 naming ``assignee_id``, and nothing is published."""
        await self._conversation(who, conversation_id)
        assignee = who.agent_id if body.assignee_id == "me" else body.assignee_id
        if (assignee is not None and self.assignees is not None
                and not await self.assignees.is_assignable(who, assignee)):
            raise InvalidInput(f"assignee_id: {assignee!r} is neither an active agent nor a "
                               "team of yours.", code="unknown_assignee", field="assignee_id")
        return await self._publish(AssignConversation(
            occurred_at=self.clock(), tenant_id=who.tenant_id, conversation_id=conversation_id,
            command_id=command_id_for(who.tenant_id, idempotency_key), actor_id=who.agent_id,
            assignee_id=assignee))

    # -- steps --------------------------------------------------------------------------------

    async def _template(self, who: Identity, channel: Channel, cid: str, customer: Customer,
                        body: TemplateIn, command_id: str, last_inbound_at: datetime | None,
                        now: datetime, reference: str | None = None,
                        closed_at: datetime | None = None) -> SendTemplate:
        template = await self.repository.template(channel.waba_id, body.template_name,
                                                  body.language)
        if template is not None and template.get("tenant_id") not in (None, who.tenant_id):
            template = None  # another tenant's account: as if it did not exist
        # In the sender's order: Meta's account notices, the template's status, the opt-out.
        initiator = (Initiator.CUSTOMER if is_window_open(last_inbound_at, now, closed_at)
                     else Initiator.BUSINESS)
        await self._account_check(who, channel.phone_number_id, initiator, now, channel)
        _check(decide(MessageKind.TEMPLATE, last_inbound_at, now,
                      template.get("status") if template else None))
        assert template is not None
        if is_marketing(template.get("category")):
            await self._opt_out_check(who, channel, customer)
        try:
            filled = fill_components(template.get("components") or [], body.variables)
        except TemplateVariablesError as exc:
            raise InvalidInput(str(exc), code="template_variables",
                               field=f"variables.{exc.variable}") from None
        return SendTemplate(occurred_at=now, tenant_id=who.tenant_id, conversation_id=cid,
                            command_id=command_id, actor_id=who.agent_id,
                            business_phone_number_id=channel.phone_number_id,
                            **customer, template_name=body.template_name,
                            language=body.language, components=filled.components,
                            rendered_text=filled.rendered_text,
                            reference=reference or command_id)

    async def _account_check(self, who: Identity, number: str, initiator: Initiator,
                             now: datetime, channel: Channel | None = None) -> None:
        """Refuse (409) what Meta's notices about the number's account refuse, as the sender
        will (shared/account_policy.py): a disabled account, a messaging restriction."""
        if self.notices is None:
            return
        docs = await self.notices.notices(who.tenant_id)
        if not docs:
            return
        channel = channel or await self._channel(who, number)
        notices = [n for n in map(Notice.from_document, docs) if n.waba_id == channel.waba_id]
        _check(account_policy.refusal(notices, phone_number_id=number, initiator=initiator,
                                      now=now))

    async def _opt_out_check(self, who: Identity, channel: Channel, customer: Customer) -> None:
        """A MARKETING template to a customer who opted out: the sender's refusal, now."""
        key = customer_opt_out_id(who.tenant_id, channel.phone_number_id,
                                  customer["customer_wa_id"], customer["customer_user_id"])
        if key is not None and any(is_opted_out(d)
                                   for d in await self.repository.opt_outs([key])):
            _check(OPTED_OUT)

    async def _conversation_id(self, who: Identity, channel: Channel, customer: Customer
                               ) -> str:
        """From the directory: a number already known under a BSUID conversation (or the
        reverse) lands in that conversation; a new customer gets the derived id."""
        wa_id, user_id = customer["customer_wa_id"], customer["customer_user_id"]
        if self.contacts is None:
            return derived_conversation_id(channel.phone_number_id, wa_id, user_id)
        return await self.contacts.resolve(channel.phone_number_id, who.tenant_id, wa_id,
                                           user_id)

    async def _conversation(self, who: Identity, conversation_id: str) -> Document:
        doc = await self.repository.conversation(who.tenant_id, conversation_id)
        if doc is None:
            raise NotFound("No such conversation.", code="conversation_not_found")
        if doc.get("merged_into"):
            # The customer's two conversations became one: act there (the agent sees its whole
            # thread first), never here, where nothing is folded any more.
            raise Merged(f"This conversation was merged into {doc['merged_into']}, the same "
                         "customer's; act on that one.", merged_into=doc["merged_into"])
        return doc

    async def _channel(self, who: Identity, phone_number_id: str) -> Channel:
        return await own_channel(self.repository, who, phone_number_id)

    async def _publish(self, command: Command) -> CommandAccepted:
        await self.publisher.publish(command)
        COMMANDS.labels(getattr(command, "type", type(command).__name__)).inc()
        assert command.conversation_id is not None
        return CommandAccepted(command_id=command.command_id,
                               conversation_id=command.conversation_id)


_REJECTIONS: dict[str, type[InboxApiError]] = {
    "unsupported": UnsupportedMedia, "too_large": TooLarge, "invalid": InvalidInput}


def _free_form(conversation: Document, now: datetime) -> Decision:
    """The window policy for a free-form message to this stored conversation (its last
    customer message, and Meta's latest 131047 report)."""
    return decide(MessageKind.FREE_FORM, conversation.get("last_inbound_at"), now,
                  closed_at=conversation.get("window_closed_at"))


def _check(decision: object) -> None:
    if isinstance(decision, Refused):
        REFUSED.labels(decision.reason.value).inc()
        raise SendRefused(decision.message, code=decision.reason.value,
                          reason=decision.reason.value, hint=decision.hint)
