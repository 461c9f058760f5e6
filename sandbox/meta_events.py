"""What happens at Meta besides the business's sends, played from the control API.

Each use case builds Meta's webhook (the pure builders are in :mod:`sandbox.customer`,
:mod:`sandbox.coexistence`, :mod:`sandbox.customer_webhooks` and
:mod:`sandbox.account_webhooks`), posts it signed like every other webhook of the sandbox, and
changes what later sends get where Meta's would:

- the customer edits or deletes a message they sent (``messages`` of type ``edit`` /
  ``revoke``): only a message this customer sent to this number; an edit only within WhatsApp's
  15 minutes. Like any customer message, it (re)opens the window;
- the customer stops or resumes marketing messages (``user_preferences``): while stopped, a
  MARKETING template to them is accepted, then fails with 131050;
- the customer calls (``calls``: connect, then terminate): a call opens the window, as Meta's
  window rule says of calls;
- the business writes, edits or deletes from the WhatsApp Business app (``smb_message_echoes``),
  the app syncs a thread's history (``history``) or its address book (``smb_app_state_sync``):
  none of these opens a window;
- the account is restricted, warned or given new capabilities (``account_update``,
  ``account_alerts``, ``business_capability_update``): a restriction is enforced until it
  expires on the sandbox's clock or is lifted (:mod:`sandbox.account_webhooks`).

Size: one use case per webhook kind the control API can cause (a dozen short ones), with their
request bodies next to them, so each kind reads top to bottom in one place.
"""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sandbox.account_webhooks import (
    ACCOUNT_RESTRICTION,
    BIZ_INITIATED,
    CAPABILITIES,
    RESTRICTION_TYPES,
    Restriction,
    account_alert,
    account_update,
    business_capability,
)
from sandbox.coexistence import (
    HISTORY_STATUSES,
    MEDIA_TYPES,
    HistoryMessage,
    echo_item,
    echo_payload,
    history_declined_payload,
    history_message,
    history_payloads,
    state_sync_item,
    state_sync_payload,
)
from sandbox.customer import CustomerMessage, InvalidCustomerMessage, message_content
from sandbox.customer_webhooks import (
    call_payload,
    connect_item,
    preference_payload,
    terminate_item,
)
from sandbox.identity import Customer
from sandbox.personas import Persona
from sandbox.records import InboundResult, Posted
from sandbox.service import ControlError, Sandbox
from shared.channels import Channel
from shared.phone import InvalidPhoneNumber, canonical_wa_id

Raw = dict[str, Any]

EDIT_WINDOW = timedelta(minutes=15)  # WhatsApp lets a sender edit a message this long
RING_SECONDS = 5  # an answered call rings this long before it is picked up
MISSED_RING_SECONDS = 30  # an unanswered call rings this long
DEFAULT_NAME = "Sandbox Customer"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _ToCustomer(_Body):
    phone_number_id: str = Field(min_length=1)
    customer: str = Field(min_length=1)  # any number or BSUID the customer had
    name: str | None = None  # the customer's profile name (default: the last one shown)


class MessageEdit(_ToCustomer):
    """An edit of ``message_id``: the new ``text``, or the whole new ``message`` (``{type,
    <type>}``, e.g. an image with a new caption)."""

    message_id: str = Field(min_length=1)
    text: str | None = Field(default=None, min_length=1, max_length=4096)
    message: Raw | None = None

    @model_validator(mode="after")
    def _one_content(self) -> MessageEdit:
        if (self.text is None) == (self.message is None):
            raise ValueError("give the new text, or the new message object, not both")
        return self

    def new_message(self) -> Raw:
        if self.text is not None:
            return {"type": "text", "text": {"body": self.text}}
        assert self.message is not None
        kind = self.message.get("type")
        if not isinstance(kind, str) or not isinstance(self.message.get(kind), dict):
            raise ControlError(400, "message must be {type, <type>: {...}}")
        return dict(self.message)


class MessageRevoke(_ToCustomer):
    message_id: str = Field(min_length=1)


class AppMessage(_ToCustomer):
    """A message the business writes from the WhatsApp Business app (``content`` as in
    customer messages: a type's object, defaults filled in; a string for a text)."""

    type: str = Field(default="text", min_length=1, max_length=40)
    content: Raw | list[Any] | str | None = None


class HistoryEntry(_Body):
    """One message of a synced thread: who wrote it, what, how long before the sync, and its
    last status (default READ for the customer's, DELIVERED for the business's)."""

    sender: Literal["customer", "business"] = Field(alias="from")
    type: str = Field(default="text", min_length=1, max_length=40)
    content: Raw | list[Any] | str | None = None
    sent_seconds_ago: float = Field(default=3600, ge=0, le=400 * 86400)
    status: str | None = None


class HistorySync(_ToCustomer):
    messages: list[HistoryEntry] = Field(default_factory=list, max_length=5000)
    chunk_size: int = Field(default=100, ge=1, le=5000)
    declined: bool = False  # the business declined to share its history


class AppContact(_Body):
    phone_number: str = Field(min_length=1)
    full_name: str | None = None
    first_name: str | None = None
    action: Literal["add", "remove"] = "add"


class ContactSync(_Body):
    phone_number_id: str = Field(min_length=1)
    contacts: list[AppContact] = Field(min_length=1, max_length=5000)


class MarketingChoice(_ToCustomer):
    value: Literal["stop", "resume"] = "stop"


class CallRequest(_ToCustomer):
    """A user-initiated call: answered (``duration_seconds`` long) or missed."""

    answered: bool = True
    duration_seconds: int = Field(default=60, ge=1, le=86400)


class RestrictionRequest(_Body):
    restriction_type: str = BIZ_INITIATED
    expires_in_seconds: float = Field(default=86400, gt=0, le=365 * 86400)
    remediation: str | None = Field(default=None, max_length=1000)


class AccountUpdateRequest(_Body):
    """``account_update``: ``event`` with its fields (``details``, verbatim); an
    ``ACCOUNT_RESTRICTION`` takes ``restrictions`` (default: business-initiated messaging for
    24 h), which the sandbox then enforces."""

    waba_id: str = Field(min_length=1)
    event: str = Field(default=ACCOUNT_RESTRICTION, pattern=r"^[A-Z_]+$")
    restrictions: list[RestrictionRequest] = Field(default_factory=list, max_length=20)
    details: Raw = Field(default_factory=dict)


class AccountAlertRequest(_Body):
    waba_id: str = Field(min_length=1)
    entity_type: Literal["BUSINESS", "PHONE_NUMBER", "CURRENT_STATUS_ID"] = "PHONE_NUMBER"
    entity_id: str | None = None  # default: the account's first number (or the account)
    alert_type: str = Field(default="INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED",
                            pattern=r"^[A-Z_]+$")
    alert_severity: Literal["CRITICAL", "WARNING", "INFORMATIONAL"] = "WARNING"
    alert_status: Literal["ACTIVE", "NONE"] = "ACTIVE"
    alert_description: str = Field(
        default="Sandbox: messaging limits cannot be increased for this business yet.",
        min_length=1, max_length=1000)


class CapabilityRequest(_Body):
    """``business_capability_update``: the capabilities that changed (Meta's field names)."""

    waba_id: str = Field(min_length=1)
    capabilities: Raw = Field(default_factory=lambda: {
        "max_daily_conversations_per_business": 2000, "max_phone_numbers_per_waba": 25})

    @model_validator(mode="after")
    def _known(self) -> CapabilityRequest:
        unknown = set(self.capabilities) - CAPABILITIES
        if not self.capabilities or unknown:
            raise ValueError(f"capabilities must name some of {sorted(CAPABILITIES)}")
        return self


class MetaEvents:
    """The use cases above, over the sandbox's state."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    # -- the customer ---------------------------------------------------------------------------

    async def customer_edits(self, edit: MessageEdit) -> InboundResult:
        channel, persona = self._who(edit)
        sent_at = self._customer_message(channel, persona, edit.message_id)
        if self._now() - datetime.fromtimestamp(sent_at, UTC) > EDIT_WINDOW:
            raise ControlError(400, "WhatsApp lets a customer edit a message for 15 minutes "
                                    "after sending it")
        return await self.sandbox.customer_sends(CustomerMessage(
            phone_number_id=edit.phone_number_id, from_wa_id=edit.customer, type="edit",
            content={"original_message_id": edit.message_id, "message": edit.new_message()},
            name=self._name(channel, persona, edit.name)))

    async def customer_revokes(self, revoke: MessageRevoke) -> InboundResult:
        channel, persona = self._who(revoke)
        self._customer_message(channel, persona, revoke.message_id)
        return await self.sandbox.customer_sends(CustomerMessage(
            phone_number_id=revoke.phone_number_id, from_wa_id=revoke.customer, type="revoke",
            content={"original_message_id": revoke.message_id},
            name=self._name(channel, persona, revoke.name)))

    async def marketing_preference(self, choice: MarketingChoice) -> Posted:
        channel, persona = self._who(choice)
        customer = self._customer(channel, persona, choice.name)
        self.sandbox.marketing.set(channel.phone_number_id, {persona.number, persona.user_id},
                                   choice.value)
        return await self._post([preference_payload(channel, customer, choice.value,
                                                    self._timestamp())])

    async def call(self, call: CallRequest) -> Posted:
        channel, persona = self._who(call)
        customer = self._customer(channel, persona, call.name)
        call_id = "wacid." + base64.b64encode(os.urandom(18)).decode()
        ended = self._timestamp()
        answered_at = ended - call.duration_seconds if call.answered else None
        rang = (answered_at - RING_SECONDS) if answered_at is not None \
            else ended - MISSED_RING_SECONDS
        self.sandbox.note_customer_activity(channel, {persona.key, persona.number},
                                            datetime.fromtimestamp(rang, UTC))
        return await self._post([
            call_payload(channel, customer, connect_item(channel, customer, call_id, rang)),
            call_payload(channel, customer, terminate_item(channel, customer, call_id, ended,
                                                           answered_at=answered_at))],
            call_id)

    # -- the WhatsApp Business app on the same number -------------------------------------------

    async def app_sends(self, message: AppMessage) -> Posted:
        channel, persona = self._who(message)
        wamid = self.sandbox.new_wamid()
        content = self._content(message.type, message.content, wamid)
        return await self._echo(channel, persona, message.name, wamid, message.type, content)

    async def app_edits(self, edit: MessageEdit) -> Posted:
        channel, persona = self._who(edit)
        self._app_message(channel, persona, edit.message_id)
        return await self._echo(channel, persona, edit.name, self.sandbox.new_wamid(), "edit",
                                {"original_message_id": edit.message_id,
                                 "message": edit.new_message()})

    async def app_revokes(self, revoke: MessageRevoke) -> Posted:
        channel, persona = self._who(revoke)
        self._app_message(channel, persona, revoke.message_id)
        return await self._echo(channel, persona, revoke.name, self.sandbox.new_wamid(),
                                "revoke", {"original_message_id": revoke.message_id})

    async def history(self, sync: HistorySync) -> Posted:
        channel, persona = self._who(sync)
        if sync.declined:
            return await self._post([history_declined_payload(channel)])
        if not sync.messages:
            raise ControlError(400, "a history sync needs messages (or declined: true)")
        now = self._now()
        built: list[HistoryMessage] = []
        for entry in sync.messages:
            wamid = self.sandbox.new_wamid()
            sent = now - timedelta(seconds=entry.sent_seconds_ago)
            status = entry.status or ("READ" if entry.sender == "customer" else "DELIVERED")
            if status not in HISTORY_STATUSES:
                raise ControlError(400, f"status must be one of {sorted(HISTORY_STATUSES)}")
            content = self._content(entry.type, entry.content, wamid)
            message = history_message(
                channel, persona.number, wamid=wamid, timestamp=int(sent.timestamp()),
                age=now - sent, from_business=entry.sender == "business", kind=entry.type,
                content=content, status=status)
            if message is None:
                continue  # older than the sync reaches (180 days)
            if message.media is not None and isinstance(content, dict):
                self.sandbox.media.register_inbound(str(content["id"]), channel,
                                                    str(content.get("mime_type") or ""), now,
                                                    sha256=content.get("sha256"))
            built.append(message)
        if not built:
            raise ControlError(400, "every message is older than the 180 days a sync reaches")
        return await self._post(history_payloads(channel, persona.number, built,
                                                 sync.chunk_size))

    async def contact_sync(self, sync: ContactSync) -> Posted:
        channel = self.sandbox.channel(sync.phone_number_id)
        timestamp = self._timestamp()
        items = []
        for contact in sync.contacts:
            try:
                number = canonical_wa_id(contact.phone_number)
            except InvalidPhoneNumber:
                raise ControlError(400, f"{contact.phone_number[:40]!r} is not a phone "
                                        "number") from None
            items.append(state_sync_item(number, contact.action, timestamp,
                                         full_name=contact.full_name,
                                         first_name=contact.first_name))
        return await self._post([state_sync_payload(channel, items)])

    # -- the account ----------------------------------------------------------------------------

    async def account_update(self, update: AccountUpdateRequest) -> Posted:
        self._account(update.waba_id)
        now = self._timestamp()
        restrictions: list[Restriction] = []
        if update.event == ACCOUNT_RESTRICTION:
            for r in update.restrictions or [RestrictionRequest()]:
                if r.restriction_type not in RESTRICTION_TYPES:
                    raise ControlError(400, f"restriction_type must be one of "
                                            f"{sorted(RESTRICTION_TYPES)}")
                restrictions.append(Restriction(r.restriction_type,
                                                int(now + r.expires_in_seconds), r.remediation))
            self.sandbox.restrictions.restrict(update.waba_id, restrictions)
        elif update.restrictions:
            raise ControlError(400, "restrictions come with event ACCOUNT_RESTRICTION")
        return await self._post([account_update(update.waba_id, update.event, now,
                                                restrictions=restrictions,
                                                details=update.details)])

    def lift_restrictions(self, waba_id: str, types: list[str] | None = None) -> dict[str, Any]:
        """Meta lifts the account's restrictions early (it posts no webhook for it)."""
        self._account(waba_id)
        self.sandbox.restrictions.lift(waba_id, types)
        return self.restrictions()

    def restrictions(self) -> dict[str, Any]:
        return self.sandbox.restrictions.listing(self._now())

    async def account_alert(self, alert: AccountAlertRequest) -> Posted:
        channels = self._account(alert.waba_id)
        entity_id = alert.entity_id or (channels[0].phone_number_id
                                        if alert.entity_type == "PHONE_NUMBER"
                                        else alert.waba_id)
        return await self._post([account_alert(
            alert.waba_id, self._timestamp(), entity_type=alert.entity_type,
            entity_id=entity_id, severity=alert.alert_severity, status=alert.alert_status,
            alert_type=alert.alert_type, description=alert.alert_description)])

    async def capability(self, update: CapabilityRequest) -> Posted:
        self._account(update.waba_id)
        return await self._post([business_capability(update.waba_id, self._timestamp(),
                                                     update.capabilities)])

    # -- steps ------------------------------------------------------------------------------------

    def _who(self, body: _ToCustomer) -> tuple[Channel, Persona]:
        channel = self.sandbox.channel(body.phone_number_id)
        return channel, self.sandbox.persona(channel, body.customer)

    def _customer(self, channel: Channel, persona: Persona, name: str | None) -> Customer:
        return Customer(persona.user_id, wa_id=persona.shown_number,
                        name=self._name(channel, persona, name), username=persona.username)

    def _name(self, channel: Channel, persona: Persona, name: str | None) -> str:
        """The profile name given, else the one the customer's messages last showed (else the
        control API's default customer name)."""
        if name is not None:
            return name
        known = self.sandbox.dispatcher.customers.by_user_id(channel.waba_id, persona.user_id)
        return known.name if known is not None and known.name else DEFAULT_NAME

    def _customer_message(self, channel: Channel, persona: Persona, wamid: str) -> int:
        """When the customer sent this number ``wamid`` (400 if they did not)."""
        sent = self.sandbox.recipients.sent(channel.phone_number_id, wamid)
        if sent is None or not self._same_customer(channel, sent[0], persona):
            raise ControlError(400, f"{wamid[:80]!r} is not a message this customer sent to "
                                    f"{channel.phone_number_id}")
        return sent[1]

    def _app_message(self, channel: Channel, persona: Persona, wamid: str) -> None:
        number = self.sandbox.recipients.echo(channel.phone_number_id, wamid)
        if number is None or not self._same_customer(channel, number, persona):
            raise ControlError(400, f"{wamid[:80]!r} is not a message the business app of "
                                    f"{channel.phone_number_id} sent this customer")

    def _same_customer(self, channel: Channel, handle: str, persona: Persona) -> bool:
        try:
            return self.sandbox.personas.resolve(channel.waba_id, handle).number == persona.number
        except InvalidPhoneNumber:
            return False

    def _account(self, waba_id: str) -> list[Channel]:
        channels = [c for c in self.sandbox.catalog.channels() if c.waba_id == waba_id]
        if not channels:
            raise ControlError(404, f"no business number belongs to account {waba_id!r}")
        return channels

    def _content(self, kind: str, given: Raw | list[Any] | str | None, wamid: str) -> Any:
        try:
            return message_content(kind, given, wamid)
        except InvalidCustomerMessage as exc:
            raise ControlError(400, str(exc)) from None

    async def _echo(self, channel: Channel, persona: Persona, name: str | None, wamid: str,
                    kind: str, content: Any) -> Posted:
        customer = self._customer(channel, persona, name)
        item = echo_item(channel, customer, wamid, self._timestamp(), kind, content)
        if kind in MEDIA_TYPES and isinstance(content, dict) and content.get("id"):
            self.sandbox.media.register_inbound(str(content["id"]), channel,
                                                str(content.get("mime_type") or ""), self._now(),
                                                sha256=content.get("sha256"))
        if kind not in ("edit", "revoke"):
            self.sandbox.recipients.echoed(channel.phone_number_id, wamid, persona.number)
        return await self._post([echo_payload(channel, customer, item)], wamid)

    async def _post(self, payloads: list[Raw], event_id: str | None = None) -> Posted:
        statuses = [await self.sandbox.dispatcher.post_now(orjson.dumps(p)) for p in payloads]
        return Posted(id=event_id, webhook_statuses=statuses, payloads=payloads)

    def _now(self) -> datetime:
        return self.sandbox.clock()

    def _timestamp(self) -> int:
        return int(self._now().timestamp())
