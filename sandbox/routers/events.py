"""Control endpoints for Meta's webhook kinds beyond messages and statuses (``/_sandbox/...``).

The customer edits, deletes, calls or stops marketing; the WhatsApp Business app on the same
number writes, syncs a thread's history or its contacts; the account is restricted, warned or
given new capabilities. The use cases are in :mod:`sandbox.meta_events`; this module only
speaks HTTP. Not part of Meta's API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from sandbox.meta_events import (
    AccountAlertRequest,
    AccountUpdateRequest,
    AppMessage,
    CallRequest,
    CapabilityRequest,
    ContactSync,
    HistorySync,
    MarketingChoice,
    MessageEdit,
    MessageRevoke,
    MetaEvents,
)
from sandbox.records import InboundResult, Posted
from sandbox.routers.control import PREFIX


async def get_events(request: Request) -> MetaEvents:
    events: MetaEvents = request.state.events
    return events


EventsDep = Annotated[MetaEvents, Depends(get_events)]


def events_router() -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["sandbox control"])

    @router.post("/customers/edit")
    async def customer_edits(body: MessageEdit, events: EventsDep) -> InboundResult:
        """The customer edits a message they sent this number (within 15 minutes): ``messages``
        of type ``edit``."""
        return await events.customer_edits(body)

    @router.post("/customers/revoke")
    async def customer_revokes(body: MessageRevoke, events: EventsDep) -> InboundResult:
        """The customer deletes a message they sent this number: ``messages`` of type
        ``revoke``."""
        return await events.customer_revokes(body)

    @router.post("/customers/marketing")
    async def marketing(body: MarketingChoice, events: EventsDep) -> Posted:
        """The customer stops (or resumes) marketing messages: ``user_preferences``; while
        stopped, MARKETING templates to them fail with 131050."""
        return await events.marketing_preference(body)

    @router.post("/customers/call")
    async def call(body: CallRequest, events: EventsDep) -> Posted:
        """The customer calls the number: ``calls`` connect, then terminate (COMPLETED with a
        duration when ``answered``, else FAILED). Opens the window."""
        return await events.call(body)

    @router.post("/business-app/messages")
    async def app_sends(body: AppMessage, events: EventsDep) -> Posted:
        """The business writes from the WhatsApp Business app: ``smb_message_echoes``."""
        return await events.app_sends(body)

    @router.post("/business-app/edit")
    async def app_edits(body: MessageEdit, events: EventsDep) -> Posted:
        """The business edits an app message: an echo of type ``edit``."""
        return await events.app_edits(body)

    @router.post("/business-app/revoke")
    async def app_revokes(body: MessageRevoke, events: EventsDep) -> Posted:
        """The business deletes an app message: an echo of type ``revoke``."""
        return await events.app_revokes(body)

    @router.post("/business-app/history")
    async def history(body: HistorySync, events: EventsDep) -> Posted:
        """The app's chat history with one customer: ``history`` webhooks by phase and chunk
        (or the declined-sharing error)."""
        return await events.history(body)

    @router.post("/business-app/contacts")
    async def contacts(body: ContactSync, events: EventsDep) -> Posted:
        """The app's address book: ``smb_app_state_sync``."""
        return await events.contact_sync(body)

    @router.post("/account-update")
    async def account_update(body: AccountUpdateRequest, events: EventsDep) -> Posted:
        """``account_update``; an ``ACCOUNT_RESTRICTION`` is enforced on sends (368) until it
        expires on the sandbox's clock or is lifted."""
        return await events.account_update(body)

    @router.get("/account-restrictions")
    async def restrictions(events: EventsDep) -> dict[str, Any]:
        """The restrictions in force, by account."""
        return events.restrictions()

    @router.delete("/account-restrictions/{waba_id}")
    async def lift(waba_id: str, events: EventsDep,
                   restriction_type: Annotated[list[str] | None, Query()] = None
                   ) -> dict[str, Any]:
        """Lift the account's restrictions now (``restriction_type``: only those); Meta posts
        no webhook for it. Answers the restrictions still in force."""
        return events.lift_restrictions(waba_id, restriction_type)

    @router.post("/account-alerts")
    async def account_alerts(body: AccountAlertRequest, events: EventsDep) -> Posted:
        """``account_alerts``."""
        return await events.account_alert(body)

    @router.post("/business-capability")
    async def capability(body: CapabilityRequest, events: EventsDep) -> Posted:
        """``business_capability_update``."""
        return await events.capability(body)

    return router
