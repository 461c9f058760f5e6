"""The sandbox's use cases: answer send requests as Meta would, and play the customer.

``send`` is the hot path (the sender benchmark drives it at 1,000+ requests/s): everything it
touches is in memory, and the status webhooks it causes are only scheduled here, posted in
batches by the :class:`WebhookDispatcher`'s background task.

Order of checks (as Meta's): the number exists -> the token -> an injected fault -> the body is
JSON -> the number's throughput (130429) -> the request's shape (100, 131008, 131009) -> for a
mark-as-read: the wamid is a message this number received (100) -> for a message: a
``recipient`` BSUID names a customer of the account (131026) -> not to itself (131021), the pair
limit (131056, if on), then the template (132xxx), then an account restriction (368, see
:mod:`sandbox.account_webhooks`). Those are synchronous refusals. What Meta only finds out after
accepting the message is asynchronous, as at Meta: the answer is 200 with a wamid, then a
``failed`` status webhook: a free-form message outside the customer-service window (131047), a
marketing template to a customer who stopped marketing messages (131050), or a media id that
does not exist (131053).

Size: the send hot path is one class on purpose: Meta's order of checks reads top to bottom,
and every check works on the same in-memory state without extra calls.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import functools
import itertools
import os
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from sandbox import metrics
from sandbox.account_webhooks import BIZ_INITIATED, CUSTOMER_INITIATED, POLICY_BLOCK, Restrictions
from sandbox.catalog import Catalog
from sandbox.clock import OffsetClock
from sandbox.customer import CustomerChange, CustomerMessage, inbound_message, opens_window
from sandbox.customer_webhooks import MarketingStops
from sandbox.dispatcher import RetryPolicy, WebhookDispatcher
from sandbox.errors import CloudApiError, bad_token, unknown_number
from sandbox.faults import DEFAULT_FAILED_STATUS_CODE, Fault, FaultBook
from sandbox.identity import is_bsuid, user_id_or_none
from sandbox.media import MediaStore
from sandbox.personas import Persona, Personas
from sandbox.recipients import Recipients
from sandbox.records import InboundResult, ReceivedLog
from sandbox.requests import MEDIA_TYPES, Outgoing, parse_send
from sandbox.rules import (
    MARKETING_STOPPED,
    MEDIA_UPLOAD_ERROR,
    REENGAGEMENT,
    NumberRates,
    PairRates,
    check_template,
    window_open,
)
from sandbox.statuses import Behaviour, plan
from sandbox.webhooks import Raw, message_payload, pricing, status_item
from shared.channels import Channel
from shared.phone import InvalidPhoneNumber, canonical_wa_id

JSON_HEADERS = [(b"content-type", b"application/json")]
READ_OK = orjson.dumps({"success": True})
GATEWAY_TIMEOUT = 504
# Meta's details of the refusals it reports in a failed status.
_FAILURE_DETAILS = {
    REENGAGEMENT: "Message failed to send because more than 24 hours have passed since the "
                  "customer last replied to this number.",
    MEDIA_UPLOAD_ERROR: "Media upload error: the media id does not exist, expired, or belongs "
                        "to another WhatsApp Business Account.",
    MARKETING_STOPPED: "The customer stopped marketing messages from this business; marketing "
                       "templates are not delivered to them until they resume.",
}


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer of the send endpoint."""

    status: int
    body: bytes
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


class ControlError(Exception):
    """A control API request that cannot be served; ``status_code`` says how (404, 400)."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Limits:
    """The fixed rule settings (the changeable ones are in :class:`Behaviour`)."""

    window: timedelta = timedelta(hours=24)
    retry_after_seconds: int = 1


ClientGone = Callable[[], Awaitable[None]]


class Sandbox:
    """State and rules of the fake Cloud API; one instance per app."""

    def __init__(
        self,
        catalog: Catalog,
        dispatcher: WebhookDispatcher,
        *,
        clock: OffsetClock,
        behaviour: Behaviour,
        limits: Limits,
        rates: NumberRates,
        pair_rates: PairRates,
        received: ReceivedLog,
        monotonic: Callable[[], float],
        rng: random.Random,
        media: MediaStore | None = None,
    ) -> None:
        self.catalog = catalog
        self.dispatcher = dispatcher
        self.clock = clock
        self.behaviour = behaviour
        self.limits = limits
        self.rates = rates
        self.pair_rates = pair_rates
        self.received = received
        self.media = media if media is not None else MediaStore()
        self.faults = FaultBook()
        self._monotonic = monotonic
        self._rng = rng
        # (phone_number_id, canonical customer number) -> time of the customer's last message.
        self._last_inbound: dict[tuple[str, str], datetime] = {}
        self.recipients = Recipients()
        self.personas = Personas()
        # Account restrictions (account_update) and marketing opt-outs (user_preferences) the
        # control API reported, which change what later sends get.
        self.restrictions = Restrictions()
        self.marketing = MarketingStops()
        self._run = base64.b32encode(os.urandom(5)).decode()
        self._seq = itertools.count(1)
        self.outcomes: Counter[str] = Counter()
        self.accepted_by_number: Counter[str] = Counter()

    # -- the send endpoint -------------------------------------------------------------------

    async def send(self, phone_number_id: str, authorization: str | None, raw: bytes,
                   client_gone: ClientGone | None = None) -> Reply:
        """Answer ``POST /{version}/{phone_number_id}/messages``."""
        channel = self.catalog.channel(phone_number_id)
        if channel is None:
            return self._refused(phone_number_id, raw, unknown_number(phone_number_id))
        if not _token_matches(channel, authorization):
            return self._refused(phone_number_id, raw, bad_token())
        try:
            body: Any = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return self._refused(phone_number_id, raw,
                                 CloudApiError(100, "The request body is not valid JSON."))
        fault = self.faults.take(phone_number_id)
        if fault is not None:
            return await self._faulty(channel, raw, body, fault, client_gone)
        return self._answer(channel, raw, body)

    def _answer(self, channel: Channel, raw: bytes, body: Any, fault: Fault | None = None,
                failed_code: int | None = None) -> Reply:
        try:
            reply, wamid = self._process(channel, body, failed_code)
        except CloudApiError as error:
            return self._refused(channel.phone_number_id, raw, error, fault)
        self.received.add(channel.phone_number_id, self.clock(), raw, reply.status, wamid,
                          fault=fault.kind if fault else None)
        return reply

    def _process(self, channel: Channel, body: Any,
                 failed_code: int | None) -> tuple[Reply, str | None]:
        number = channel.phone_number_id
        if not self.rates.allow(number, channel.throughput_mps, self._monotonic()):
            raise self.rates.refused(channel.throughput_mps, self.limits.retry_after_seconds)
        request = parse_send(body)
        if request.is_read:
            self._check_read(number, request)
            self.outcomes["read"] += 1
            metrics.REQUESTS.labels("read").inc()
            return Reply(200, READ_OK, JSON_HEADERS), None
        if request.user_id is not None:
            request = self._addressed(channel, request)
        now = self.clock()
        category, fails_with, in_window = self._check_rules(channel, request, now)
        if failed_code is None and fails_with is not None:
            failed_code = fails_with
            self.outcomes[f"failed_status_{fails_with}"] += 1
        wamid = self._wamid()
        self._schedule_statuses(channel, request, wamid, now, category, failed_code, in_window)
        self.outcomes["accepted"] += 1
        self.accepted_by_number[number] += 1
        metrics.ACCEPTED.inc()
        return Reply(200, _accepted_body(request, wamid), JSON_HEADERS), wamid

    def _check_read(self, phone_number_id: str, request: Outgoing) -> None:
        """Only a message the customer sent to this number can be marked read."""
        if not self.recipients.received(phone_number_id, request.message_id or ""):
            raise CloudApiError(
                100, f"Param message_id: {str(request.message_id)[:80]!r} is not a message "
                "received by this business phone number.")

    def _addressed(self, channel: Channel, request: Outgoing) -> Outgoing:
        """A message to a BSUID, addressed to the customer that BSUID names."""
        assert request.user_id is not None
        wa_id = self.recipients.wa_id(channel, request.user_id)
        if wa_id is None:
            raise CloudApiError(
                131026, f"recipient {request.user_id[:60]} is not a WhatsApp user this "
                "business has exchanged messages with.")
        return dataclasses.replace(request, wa_id=wa_id)

    def _check_rules(self, channel: Channel, request: Outgoing,
                     now: datetime) -> tuple[str | None, int | None, bool]:
        """Meta's send-time rules: the template's category (None for free-form), the code the
        message will fail with after acceptance (None: it goes out), and whether the
        customer-service window is open (known for free-form and utility templates)."""
        if request.wa_id == channel.display_phone_number:
            raise CloudApiError(131021, "Recipient phone number is the sender's own number.")
        if self.behaviour.pair_rate_limit and not request.group:
            self.pair_rates.check(channel.phone_number_id, request.wa_id or request.user_id or "",
                                  self._monotonic())
        category = None
        in_window = False
        if request.template is not None:
            ref = request.template
            spec = self.catalog.template(channel.waba_id, ref.name, ref.language)
            category = check_template(spec, ref).category
            # A utility template's price depends on the window (free inside it), and so does
            # whether a restricted account may send it.
            if (category == "UTILITY" or self.restrictions) and not request.group:
                in_window = self._window_open(channel, request, now)
            if self.restrictions and not request.group:
                self._check_restrictions(channel, now, in_window, template=True)
            if category == "MARKETING" and self.marketing and self._stopped_marketing(
                    channel, request):
                return category, MARKETING_STOPPED, in_window
        elif not request.group:
            in_window = self._window_open(channel, request, now)
            if self.restrictions and in_window:
                self._check_restrictions(channel, now, in_window, template=False)
            if not in_window:
                return None, REENGAGEMENT, False
        for media_id in request.media_ids:
            medium = self.media.get(media_id, now)
            if medium is None or medium.waba_id != channel.waba_id:
                return category, MEDIA_UPLOAD_ERROR, in_window
        return category, None, in_window

    def _window_open(self, channel: Channel, request: Outgoing, now: datetime) -> bool:
        # A customer whose number Meta hides is keyed by BSUID (``wa_id`` is "").
        key = (channel.phone_number_id,
               _canonical(request.wa_id) if request.wa_id else request.user_id or "")
        return window_open(self._last_inbound.get(key), now, self.limits.window)

    def _check_restrictions(self, channel: Channel, now: datetime, in_window: bool, *,
                            template: bool) -> None:
        """A restricted account may not start conversations (a template to a customer whose
        window is closed) or may not answer (anything inside an open window): Meta's 368."""
        active = self.restrictions.active(channel.waba_id, now)
        if not active:
            return
        if template and not in_window and BIZ_INITIATED in active:
            raise _policy_block(BIZ_INITIATED, active[BIZ_INITIATED],
                                "this account may not start conversations")
        if in_window and CUSTOMER_INITIATED in active:
            raise _policy_block(CUSTOMER_INITIATED, active[CUSTOMER_INITIATED],
                                "this account may not answer customers")

    def _stopped_marketing(self, channel: Channel, request: Outgoing) -> bool:
        """Whether the recipient stopped marketing messages from this number (by number or
        BSUID, whichever the send names)."""
        number = channel.phone_number_id
        if request.user_id is not None and self.marketing.stopped(number, request.user_id):
            return True
        return bool(request.wa_id) and self.marketing.stopped(number, _canonical(request.wa_id))

    def _schedule_statuses(self, channel: Channel, request: Outgoing, wamid: str,
                           now: datetime, category: str | None, failed_code: int | None,
                           in_window: bool = False) -> None:
        if not self.dispatcher.enabled:
            return
        base = now.timestamp()
        price = pricing(category, in_window=in_window)
        details = _FAILURE_DETAILS.get(failed_code) if failed_code is not None else None
        # A persona's BSUID need not derive from its number (a BSUID change, then a share).
        persona_user_id = (self.personas.user_id_of(channel.waba_id, request.wa_id)
                           if self.personas and request.user_id is None and not request.group
                           else None)
        for planned in plan(self.behaviour, self._rng, failed=failed_code is not None):
            item = status_item(
                wamid, planned.status, int(base + planned.happens_after), request.wa_id,
                pricing=price if planned.status in ("sent", "delivered") else None,
                error_code=failed_code if planned.status == "failed" else None,
                callback_data=request.callback_data,
                # A send addressed by BSUID gets it back on every status, failed included.
                recipient_user_id=request.user_id or (
                    persona_user_id if planned.status != "failed" else None),
                error_details=details,
            )
            at = now + timedelta(seconds=planned.happens_after)
            if self.dispatcher.schedule(channel, item, planned.arrives_after, at=at):
                metrics.STATUSES.labels(planned.status).inc()

    def _refused(self, phone_number_id: str, raw: bytes, error: CloudApiError,
                 fault: Fault | None = None) -> Reply:
        self.outcomes[str(error.code)] += 1
        metrics.REQUESTS.labels(str(error.code)).inc()
        self.received.add(phone_number_id, self.clock(), raw, error.http_status,
                          error_code=error.code, fault=fault.kind if fault else None)
        return Reply(error.http_status, error.body(), JSON_HEADERS + error.headers())

    async def _faulty(self, channel: Channel, raw: bytes, body: Any, fault: Fault,
                      client_gone: ClientGone | None) -> Reply:
        number = channel.phone_number_id
        match fault.kind:
            case "slow":
                await self._pause(fault.delay, client_gone)
                return self._answer(channel, raw, body, fault)
            case "status_failed":
                return self._answer(channel, raw, body, fault,
                                    failed_code=fault.code or DEFAULT_FAILED_STATUS_CODE)
            case "timeout":
                wamid = None
                if fault.accept:
                    try:
                        _, wamid = self._process(channel, body, None)
                    except CloudApiError:
                        wamid = None
                await self._pause(fault.delay, client_gone)
                error = CloudApiError(2, "Sandbox: injected timeout.",
                                      http_status=GATEWAY_TIMEOUT)
                self.outcomes["timeout"] += 1
                self.received.add(number, self.clock(), raw, GATEWAY_TIMEOUT, wamid,
                                  error_code=None if wamid else error.code, fault=fault.kind)
                return Reply(GATEWAY_TIMEOUT, error.body(), JSON_HEADERS)
            case _:
                return self._refused(number, raw, _fault_error(fault, self.limits), fault)

    async def _pause(self, seconds: float, client_gone: ClientGone | None) -> None:
        """Sleep, but stop as soon as the client hangs up (a timed-out client has)."""
        if client_gone is None:
            await asyncio.sleep(seconds)
            return
        gone = asyncio.ensure_future(client_gone())
        try:
            await asyncio.wait({gone}, timeout=seconds)
        finally:
            gone.cancel()

    def _wamid(self) -> str:
        token = f"{self._run}{next(self._seq):010d}".encode()
        return "wamid.HBgL" + base64.b64encode(token).decode()

    # -- the simulated customer -----------------------------------------------------------------

    async def customer_sends(self, request: CustomerMessage,
                             extra: Raw | None = None) -> InboundResult:
        """Post the customer's message as a signed webhook; it (re)opens the window.

        ``from`` names a plain number or a persona (any number or BSUID it had); ``username``
        and ``hide_number`` shape the persona first. A ``system`` number or BSUID change moves
        the persona to its new identity. ``extra``: message fields to add (``origin``).
        """
        channel = self._channel(request.phone_number_id)
        persona = self._persona(channel, request.from_wa_id, request.username,
                                request.hide_number)
        if persona is not None and _canonical(request.from_wa_id) != persona.number:
            # A former number or a BSUID: the customer writes from who they are now. (Their
            # current number keeps the spelling given: Brazil's 8 or 9 digits.)
            request = request.model_copy(update={"from_wa_id": persona.number})
        now = self.clock()
        # A message that reaches the business late (``sent_seconds_ago``) carries the time it
        # was sent, as Meta's retried webhooks do.
        timestamp = int(now.timestamp() - (request.sent_seconds_ago or 0))
        wamid = self._wamid()
        try:
            message = inbound_message(request, wamid, timestamp)
        except ValueError as exc:
            raise ControlError(400, str(exc)) from None
        if extra:
            message = {**{k: v for k, v in message.items() if k != request.type}, **extra,
                       request.type: message[request.type]}
        change = None
        if persona is not None and request.type == "system":
            change = _identity_change(channel, persona, message["system"])
        if opens_window(request.type):
            # Meta's timestamp has whole seconds; the window counts from that same instant.
            at = datetime.fromtimestamp(timestamp, UTC)
            keys = {_canonical(request.from_wa_id)} if persona is None \
                else {persona.key, persona.number}
            self.note_customer_activity(channel, keys, at)
        if persona is None:
            payload = message_payload(channel, message, request.name)
        else:
            payload = message_payload(channel, message, request.name,
                                      username=persona.username, user_id=persona.user_id,
                                      hide_number=persona.hidden)
        shown = request.from_wa_id if persona is None else (persona.shown_number or "")
        self._remember_inbound(channel, request, message, payload, now, shown)
        if change is not None and persona is not None:
            self._change_identity(channel, persona, *change)
        metrics.CUSTOMER_MESSAGES.labels(request.type).inc()
        seq = None
        if self.dispatcher.enabled:
            seq = self.dispatcher.inbound.add(
                wamid, channel.phone_number_id, shown, request.type,
                now - timedelta(seconds=request.sent_seconds_ago or 0))
        status = await self.dispatcher.post_now(orjson.dumps(payload), inbound_seq=seq)
        return InboundResult(wamid=wamid, phone_number_id=channel.phone_number_id,
                             from_wa_id=shown,
                             from_user_id=None if persona is None else persona.user_id,
                             timestamp=datetime.fromtimestamp(timestamp, UTC),
                             webhook_status=status, payload=payload)

    def note_customer_activity(self, channel: Channel, keys: set[str], at: datetime) -> None:
        """The customer (named by ``keys``: their number and, when hidden, their BSUID) wrote or
        called at ``at``: their window runs from their latest such moment."""
        for key in keys:
            last = self._last_inbound.get((channel.phone_number_id, key))
            if last is None or at > last:
                self._last_inbound[(channel.phone_number_id, key)] = at

    def channel(self, phone_number_id: str) -> Channel:
        """The business number, or the control API's 404."""
        return self._channel(phone_number_id)

    def persona(self, channel: Channel, handle: str) -> Persona:
        """The customer a number or BSUID names, or the control API's 400."""
        persona = self._persona(channel, handle)
        if persona is None:
            raise ControlError(400, f"{handle[:60]!r} is not a phone number")
        return persona

    def new_wamid(self) -> str:
        return self._wamid()

    def _channel(self, phone_number_id: str) -> Channel:
        channel = self.catalog.channel(phone_number_id)
        if channel is None:
            raise ControlError(404, f"unknown phone_number_id {phone_number_id!r}")
        return channel

    def _persona(self, channel: Channel, handle: str, username: str | None = None,
                 hide_number: bool | None = None) -> Persona | None:
        """The customer ``handle`` names (None: not a phone number, the old free-form path)."""
        try:
            if username is not None or hide_number is not None:
                return self.personas.put(channel.waba_id, handle, username=username,
                                         hidden=hide_number)[1]
            return self.personas.resolve(channel.waba_id, handle)
        except InvalidPhoneNumber:
            if is_bsuid(handle) or username is not None or hide_number is not None:
                raise ControlError(400, f"{handle[:60]!r} is neither a phone number nor the "
                                   "BSUID of a customer of this account") from None
            return None

    def _change_identity(self, channel: Channel, persona: Persona, number: str, user_id: str,
                         hidden: bool) -> None:
        """After a number or BSUID change: the customer writes from the new identity, and keeps
        their windows (they are the same person)."""
        _, after = self.personas.put(channel.waba_id, persona.number, number=number,
                                     user_id=user_id, hidden=hidden)
        for (pnid, key), at in list(self._last_inbound.items()):
            if key in (persona.key, persona.number):
                for new_key in {after.key, after.number}:
                    self._last_inbound.setdefault((pnid, new_key), at)

    def put_customer(self, change: CustomerChange) -> Persona:
        """Shape a customer (username, hidden number) without a message."""
        channel = self._channel(change.phone_number_id)
        persona = self._persona(channel, change.customer, change.username, change.hide_number)
        if persona is None:
            raise ControlError(400, f"{change.customer[:60]!r} is not a phone number")
        return persona

    async def change_number(self, change: CustomerChange) -> InboundResult:
        """The customer changes their number: ``user_changed_number`` (a hidden customer's is
        reported as ``user_changed_user_id``, since Meta cannot share the new number)."""
        content: Raw = {"type": "user_changed_number"}
        if change.new_wa_id is not None:
            content["wa_id"] = change.new_wa_id
        return await self.customer_sends(CustomerMessage(
            phone_number_id=change.phone_number_id, from_wa_id=change.customer, type="system",
            content=content, name=change.name, username=change.username,
            hide_number=change.hide_number))

    async def change_user_id(self, change: CustomerChange) -> InboundResult:
        """The customer gets a new BSUID (a new number Meta does not share): from now on only
        the BSUID shows, until they share their number."""
        content: Raw = {"type": "user_changed_user_id"}
        if change.new_wa_id is not None:
            content["wa_id"] = change.new_wa_id
        if change.new_user_id is not None:
            if not is_bsuid(change.new_user_id):
                raise ControlError(400, f"new_user_id {change.new_user_id[:60]!r} is not a BSUID")
            content["user_id"] = change.new_user_id
        return await self.customer_sends(CustomerMessage(
            phone_number_id=change.phone_number_id, from_wa_id=change.customer, type="system",
            content=content, name=change.name, username=change.username))

    async def share_number(self, change: CustomerChange) -> InboundResult:
        """A hidden customer shares their number. ``how="contact_request"``: Meta's answer to a
        REQUEST_CONTACT_INFO button, a ``contacts`` message (``origin: contact_request``) holding
        the number; ``how="message"``: their next message (``text``) carries the number."""
        channel = self._channel(change.phone_number_id)
        persona = self._persona(channel, change.customer)
        if persona is None:
            raise ControlError(400, f"{change.customer[:60]!r} is not a phone number")
        if change.how == "message":
            self.personas.put(channel.waba_id, persona.number, hidden=False)
            self.recipients.show(channel, persona.user_id, persona.number)
            return await self.customer_sends(CustomerMessage(
                phone_number_id=change.phone_number_id, from_wa_id=persona.number,
                content=change.text, name=change.name))
        who = change.name or persona.username or persona.number
        card = [{"name": {"formatted_name": who, "first_name": who},
                 "phones": [{"phone": f"+{persona.number}", "wa_id": persona.number,
                             "type": "CELL"}],
                 "vcard": (f"BEGIN:VCARD\nVERSION:3.0\nFN:{who}\n"
                           f"TEL;type=CELL;waid={persona.number}:+{persona.number}\nEND:VCARD")}]
        result = await self.customer_sends(CustomerMessage(
            phone_number_id=change.phone_number_id, from_wa_id=persona.number, type="contacts",
            content=card, name=change.name), extra={"origin": "contact_request"})
        self.personas.put(channel.waba_id, persona.number, hidden=False)
        self.recipients.show(channel, persona.user_id, persona.number)
        return result

    def _remember_inbound(self, channel: Channel, request: CustomerMessage, message: Raw,
                          payload: Raw, now: datetime, shown: str) -> None:
        """What later requests may refer to: the wamid (mark-as-read), the BSUIDs
        (``recipient``), and the media id (``GET /{media_id}``, with the type and hash the
        webhook announced). ``shown``: the number the webhook showed ("" if hidden)."""
        self.recipients.learn(channel, message, payload, shown)
        content = message.get(request.type)
        if request.type in MEDIA_TYPES and isinstance(content, dict) and content.get("id"):
            sha256 = content.get("sha256")
            self.media.register_inbound(str(content["id"]), channel,
                                        str(content.get("mime_type") or ""), now,
                                        sha256=sha256 if isinstance(sha256, str) else None,
                                        size=request.media_bytes)

    def last_inbound(self, phone_number_id: str, wa_id: str) -> datetime | None:
        """The customer's last message to the number; ``wa_id``: any number or BSUID of it."""
        channel = self.catalog.channel(phone_number_id)
        found = self.personas.find(channel.waba_id, wa_id) if channel is not None else None
        key = found.key if found is not None else _canonical(wa_id)
        return self._last_inbound.get((phone_number_id, key))

    # -- control --------------------------------------------------------------------------------

    def add_fault(self, phone_number_id: str, fault: Fault) -> None:
        if self.catalog.channel(phone_number_id) is None:
            raise ControlError(404, f"unknown phone_number_id {phone_number_id!r}")
        self.faults.add(phone_number_id, fault)

    def configure(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Change the status-webhook behaviour and the webhook retry budget; both, as now."""
        retry_keys = RetryPolicy.model_fields.keys() & changes.keys()
        retries = {k: changes[k] for k in retry_keys}
        rest = {k: v for k, v in changes.items() if k not in retry_keys}
        try:
            behaviour = Behaviour.model_validate({**self.behaviour.model_dump(), **rest})
            policy = RetryPolicy.model_validate(
                {**self.dispatcher.retries.model_dump(), **retries})
        except ValueError as exc:
            raise ControlError(400, str(exc)) from None
        self.behaviour = behaviour
        self.dispatcher.set_retries(policy)
        return self.configuration()

    def configuration(self) -> dict[str, Any]:
        return {**self.behaviour.model_dump(), **self.dispatcher.retries.model_dump()}

    def stats(self) -> dict[str, Any]:
        return {
            "received": self.received.total,
            "outcomes": dict(self.outcomes),
            "accepted_by_number": dict(self.accepted_by_number),
            "webhooks": {"enabled": self.dispatcher.enabled, "pending": self.dispatcher.pending,
                         "posted": self.dispatcher.posted,
                         "failed_posts": self.dispatcher.failed_posts,
                         "dropped": self.dispatcher.dropped,
                         "statuses": self.dispatcher.statuses.total,
                         "customer_messages": self.dispatcher.inbound.total},
            "faults_pending": {n: sum(f.count for f in fs)
                               for n, fs in self.faults.pending().items()},
            "clock_offset_seconds": self.clock.offset.total_seconds(),
        }

    def reset(self) -> None:
        self.received.clear()
        self.faults.clear()
        self._last_inbound.clear()
        self.recipients.clear()
        self.personas.clear()
        self.restrictions.clear()
        self.marketing.clear()
        self.media.clear()
        self.rates.clear()
        self.pair_rates.clear()
        self.clock.reset()
        self.dispatcher.clear()
        self.dispatcher.statuses.clear()
        self.dispatcher.inbound.clear()
        self.outcomes.clear()
        self.accepted_by_number.clear()


def _fault_error(fault: Fault, limits: Limits) -> CloudApiError:
    details = f"Sandbox: injected {fault.kind}."
    match fault.kind:
        case "server_error":
            return CloudApiError(fault.code or 1, details, http_status=fault.http_status or 500)
        case "unknown_error":
            return CloudApiError(131000, details, http_status=fault.http_status)
        case "rate_limit":
            return CloudApiError(130429, details, http_status=fault.http_status,
                                 retry_after=limits.retry_after_seconds)
        case _:
            assert fault.code is not None
            retry_after = limits.retry_after_seconds if fault.code in (130429, 131056) else None
            return CloudApiError(fault.code, details, http_status=fault.http_status,
                                 retry_after=retry_after)


def _policy_block(restriction: str, until: int, what: str) -> CloudApiError:
    expires = datetime.fromtimestamp(until, UTC).isoformat()
    return CloudApiError(POLICY_BLOCK, f"Sandbox: {what} ({restriction} until {expires}).")


def _accepted_body(request: Outgoing, wamid: str) -> bytes:
    message: dict[str, str] = {"id": wamid}
    if request.is_template:
        message["message_status"] = "accepted"
    contact = {"input": request.to}
    if request.wa_id:  # "": Meta hides the number of the customer the BSUID names
        contact["wa_id"] = request.wa_id
    if request.user_id is not None:
        contact["user_id"] = request.user_id
    return orjson.dumps({"messaging_product": "whatsapp", "contacts": [contact],
                         "messages": [message]})


def _token_matches(channel: Channel, authorization: str | None) -> bool:
    if authorization is None or not authorization.startswith(("Bearer ", "bearer ")):
        return False
    return authorization[7:].strip() == channel.access_token.get_secret_value()


@functools.lru_cache(maxsize=65_536)
def _canonical(number: str) -> str:
    # Cached: the window key of every free-form and utility-template send (the hot path).
    try:
        return canonical_wa_id(number)
    except InvalidPhoneNumber:
        return number


def _identity_change(channel: Channel, persona: Persona,
                     system: Raw) -> tuple[str, str, bool] | None:
    """A number or BSUID change in a built ``system`` object: (new number, new BSUID, hidden
    after). Completes the object as Meta shows it: the new BSUID, and a hidden customer's number
    change reported as a BSUID change (Meta shares no new number of theirs)."""
    kind = system.get("type")
    if kind not in ("user_changed_number", "user_changed_user_id"):
        return None
    number = str(system.get("wa_id") or persona.number)
    if persona.hidden and kind == "user_changed_number":
        kind = system["type"] = "user_changed_user_id"
        system.pop("body", None)  # rewritten with the BSUIDs (sandbox.webhooks)
    explicit = system.get("user_id")
    user_id = explicit if isinstance(explicit, str) and explicit else (
        user_id_or_none(channel.waba_id, number))
    if user_id is None:
        raise ControlError(400, f"the new number {number[:40]!r} is not a phone number")
    system["user_id"] = user_id
    return _canonical(number), user_id, persona.hidden or kind == "user_changed_user_id"
