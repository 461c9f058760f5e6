"""The send use case: one command from the Kafka record to its published outcome.

The way in: handlers.py hands each command to its conversation's lane (one at a time per
conversation, many conversations at once), which calls :meth:`SendService.handle`. A read
receipt or a typing indicator goes to receipts.py; a send runs the pipeline of
:meth:`SendService.send`::

    1. refuse   refusals.py   number not the tenant's, Meta's account notices (a ban, a
                              restriction), window, template status, opt-out
                              (the facts read here): recorded and published without a call
    2. pace     attempts.py   the number's token bucket, replies first (rate.py); a call slot
    3. claim    attempts.py   insert attempt n's claim in the ledger; taken: follow the ledger
    4. call     attempts.py   POST /{phone_number_id}/messages within the deadline (cloud.py)
    5. record   attempts.py   the outcome (the first recorded wins), or a retry mark: back to 2
    6. publish  outcomes.py   the recorded outcome on inbox.outbound.v1

Steps 2 to 6 are the ledger-driven state machine (attempts.py): a redelivered command finds its
records and is replayed, waited for, or reported unknown instead (ledger.py says what each
record means). "Never twice" is the claim's insert; "never lost" is the record before publish.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from services.outbound_sender import metrics, outcomes, refusals
from services.outbound_sender.attempts import Attempts
from services.outbound_sender.cloud import CloudApi
from services.outbound_sender.durable import Sleep
from services.outbound_sender.ledger import Fresh, Ledger, Verdict, attempt_key
from services.outbound_sender.outcomes import Outcomes, Result
from services.outbound_sender.ports import (
    AccountNotices,
    ChannelLookup,
    ConversationWindows,
    InboundCatchUp,
    OptOutCheck,
    ResultPublisher,
    TemplateStatuses,
)
from services.outbound_sender.rate import Pacers
from services.outbound_sender.receipts import ReadReceipts
from services.outbound_sender.retry import RetryPolicy
from shared import account_policy
from shared.account_policy import Initiator
from shared.channels import Channel
from shared.events import (
    AnySend,
    MarkRead,
    React,
    SendMedia,
    SendTemplate,
    SendText,
    ShowTyping,
)
from shared.window import Refused

Clock = Callable[[], datetime]

SEND_COMMANDS = (SendText, SendTemplate, SendMedia, React)
# Not messages: no ledger outcome, no result (receipts.py).
RECEIPT_COMMANDS = (MarkRead, ShowTyping)


@dataclass(frozen=True, slots=True)
class SendConfig:
    """The use case's knobs (from the settings)."""

    owner: str  # this replica, as recorded in its claims
    call_deadline_seconds: float = 15.0  # a Cloud API call never takes longer (then: in doubt)
    lease_margin_seconds: float = 5.0
    window_recheck_seconds: float = 5.0
    ledger_poll_seconds: float = 1.0
    # Calls in flight at most (the Cloud API clients' connections): past it, sends wait before
    # their claim, so a claim is never older than its call.
    max_in_flight: int = 256
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class SendService:
    """Handles one command: a send, a read receipt or a typing indicator. Safe to call again
    for the same command."""

    def __init__(
        self,
        *,
        channels: ChannelLookup,
        windows: ConversationWindows,
        templates: TemplateStatuses,
        catch_up: InboundCatchUp,
        ledger: Ledger,
        cloud: CloudApi,
        pacers: Pacers,
        publisher: ResultPublisher,
        config: SendConfig,
        clock: Clock,
        sleep: Sleep = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        opt_outs: OptOutCheck | None = None,
        account_notices: AccountNotices | None = None,
    ) -> None:
        self.channels = channels
        self.account_notices = account_notices
        self.opt_outs = opt_outs
        self.windows = windows
        self.templates = templates
        self.catch_up = catch_up
        self.config = config
        self.clock = clock
        self.attempts = Attempts(
            ledger=ledger, cloud=cloud, pacers=pacers, outcomes=Outcomes(publisher, sleep, rng),
            owner=config.owner, call_deadline_seconds=config.call_deadline_seconds,
            lease_margin_seconds=config.lease_margin_seconds,
            ledger_poll_seconds=config.ledger_poll_seconds, max_in_flight=config.max_in_flight,
            retry=config.retry, clock=clock, sleep=sleep, rng=rng)
        self.receipts = ReadReceipts(channels=channels, cloud=cloud, pacers=pacers,
                                     retry=config.retry,
                                     deadline_seconds=config.call_deadline_seconds, sleep=sleep,
                                     rng=rng, ledger=ledger, owner=config.owner, clock=clock)

    async def handle(self, command: object) -> None:
        if isinstance(command, SEND_COMMANDS):
            await self.send(command)
        elif isinstance(command, MarkRead):
            await self.receipts.send(command)
        elif isinstance(command, ShowTyping):
            await self.receipts.show_typing(command)
        # Assign and resolve/reopen are conversation_store's business.

    async def send(self, command: AnySend) -> None:
        """refuse -> pace -> claim -> call -> record -> publish (the module docstring)."""
        key = attempt_key(command.tenant_id, command.command_id)
        channel = await self.channels.find(command.business_phone_number_id)
        refusal = await self.refuse(command, channel)
        verdict: Verdict | None = Fresh() if refusal is None else (
            await self.attempts.decide_without_call(key, refusal))
        while verdict is not None:
            verdict = await self.attempts.follow(command, channel, key, verdict)

    async def refuse(self, command: AnySend, channel: Channel | None) -> Result | None:
        """Step 1: the facts the policy needs, read only as far as its decision needs them."""
        if not refusals.is_tenants_channel(channel, command):
            return outcomes.unknown_channel(command, self.clock())
        refusal = await self._account_refusal(command, channel)
        if refusal is None and isinstance(command, SendTemplate):
            status = await self.templates.status(channel.waba_id, command.template_name,
                                                 command.language)
            refusal = refusals.template_refusal(status, self.clock())
            if (refusal is None and self.opt_outs is not None
                    and await self.opt_outs.blocks(command, channel)):
                refusal = refusals.OPTED_OUT
        elif refusal is None:
            refusal = await self._window_refusal(command)
        return None if refusal is None else outcomes.refused(command, refusal, self.clock())

    async def _account_refusal(self, command: AnySend, channel: Channel) -> Refused | None:
        """Meta's notices (a ban, a restriction): the window is read only when a restriction
        depends on who starts the exchange, and only for a template (anything else is a reply)."""
        if self.account_notices is None:
            return None
        notices = await self.account_notices.notices(channel)
        if not notices:
            return None
        now = self.clock()
        initiator = Initiator.CUSTOMER
        if isinstance(command, SendTemplate) and account_policy.needs_initiator(
                notices, channel.phone_number_id, now):
            initiator = refusals.initiator_of(
                await self.windows.window(command.conversation_id), now)
        return refusals.account_refusal(notices, channel, initiator, now)

    async def _window_refusal(self, command: AnySend) -> Refused | None:
        window = await self.windows.window(command.conversation_id)
        refusal = refusals.window_refusal(window, self.clock())
        if refusal is None:
            return None
        # A customer message acknowledged to Meta just now may not be stored yet: wait until
        # the store has caught up with what Kafka holds, then decide again.
        caught_up = await self.catch_up.wait(command.conversation_id,
                                             self.config.window_recheck_seconds)
        window = await self.windows.window(command.conversation_id)
        refusal = refusals.window_refusal(window, self.clock())
        result = "allowed" if refusal is None else ("refused" if caught_up else "store_behind")
        metrics.WINDOW_RECHECKS.labels(result).inc()
        return refusal
