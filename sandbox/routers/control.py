"""The control API under ``/_sandbox``: play the customer, inspect what was sent, inject faults,
move the clock, change channels, templates and webhook behaviour. Not part of Meta's API."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from sandbox.catalog import TemplateSpec
from sandbox.customer import CustomerChange, CustomerMessage
from sandbox.faults import Fault
from sandbox.personas import Persona
from sandbox.records import EmittedStatus, InboundRecord, InboundResult, ReceivedRequest
from sandbox.service import ControlError, Sandbox
from shared.channels import Channel

PREFIX = "/_sandbox"


async def get_sandbox(request: Request) -> Sandbox:
    """The sandbox the lifespan built (``async``: FastAPI runs plain ``def`` in a thread)."""
    sandbox: Sandbox = request.state.sandbox
    return sandbox


SandboxDep = Annotated[Sandbox, Depends(get_sandbox)]


class ClockMove(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: float = Field(ge=-10 * 365 * 86400, le=10 * 365 * 86400)


class IdleWait(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timeout: float = Field(default=20.0, ge=0, le=600)


def control_router() -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["sandbox control"])

    @router.post("/customer-messages")
    async def customer_message(body: CustomerMessage, sandbox: SandboxDep) -> InboundResult:
        """A simulated customer sends a message; it is posted as a signed webhook."""
        return await sandbox.customer_sends(body)

    @router.put("/customers")
    async def put_customer(body: CustomerChange, sandbox: SandboxDep) -> dict[str, Any]:
        """Shape a customer: a username, a number Meta hides (``hide_number``). No message."""
        return _persona_json(sandbox.put_customer(body))

    @router.post("/customers/change-number")
    async def change_number(body: CustomerChange, sandbox: SandboxDep) -> InboundResult:
        """The customer changes number (``new_wa_id``, default the next one): a system message;
        later messages come from the new number and its BSUID."""
        return await sandbox.change_number(body)

    @router.post("/customers/change-user-id")
    async def change_user_id(body: CustomerChange, sandbox: SandboxDep) -> InboundResult:
        """The customer gets a new BSUID (``new_user_id``, or derived from a hidden
        ``new_wa_id``): ``user_changed_user_id``; later messages show only the new BSUID."""
        return await sandbox.change_user_id(body)

    @router.post("/customers/share-number")
    async def share_number(body: CustomerChange, sandbox: SandboxDep) -> InboundResult:
        """A hidden customer shares their number (``how``: ``contact_request`` or
        ``message``); later messages and statuses carry it."""
        return await sandbox.share_number(body)

    @router.get("/received")
    async def received(
        sandbox: SandboxDep,
        phone_number_id: str | None = None,
        accepted_only: bool = False,
        after_seq: Annotated[int, Query(ge=0)] = 0,
    ) -> Response:
        """Send requests received (oldest first) with the answer given to each."""
        items = [_received_json(item) for item in
                 sandbox.received.select(phone_number_id, accepted_only=accepted_only,
                                         after_seq=after_seq)]
        return _json({"total": sandbox.received.total, "items": items})

    @router.get("/customer-messages")
    async def customer_messages(
        sandbox: SandboxDep,
        phone_number_id: str | None = None,
        after_seq: Annotated[int, Query(ge=0)] = 0,
    ) -> Response:
        """Customer messages posted as webhooks (oldest first) and how each delivery went."""
        items = [_inbound_json(item) for item in
                 sandbox.dispatcher.inbound.select(phone_number_id, after_seq=after_seq)]
        return _json({"total": sandbox.dispatcher.inbound.total, "items": items})

    @router.get("/statuses")
    async def statuses(
        sandbox: SandboxDep,
        phone_number_id: str | None = None,
        wamid: str | None = None,
        after_seq: Annotated[int, Query(ge=0)] = 0,
    ) -> Response:
        """Status webhook items emitted (oldest first) and how each delivery went."""
        items = [_status_json(item) for item in
                 sandbox.dispatcher.statuses.select(phone_number_id, wamid=wamid,
                                                    after_seq=after_seq)]
        return _json({"total": sandbox.dispatcher.statuses.total, "items": items})

    @router.get("/faults")
    async def faults(sandbox: SandboxDep) -> dict[str, list[Fault]]:
        return sandbox.faults.pending()

    @router.post("/faults/{phone_number_id}", status_code=201)
    async def add_fault(phone_number_id: str, fault: Fault,
                        sandbox: SandboxDep) -> dict[str, list[Fault]]:
        """The next ``count`` requests to this number answer with the fault."""
        sandbox.add_fault(phone_number_id, fault)
        return sandbox.faults.pending()

    @router.delete("/faults", status_code=204)
    async def clear_faults(sandbox: SandboxDep) -> None:
        sandbox.faults.clear()

    @router.delete("/faults/{phone_number_id}", status_code=204)
    async def clear_number_faults(phone_number_id: str, sandbox: SandboxDep) -> None:
        sandbox.faults.clear(phone_number_id)

    @router.get("/clock")
    async def clock(sandbox: SandboxDep) -> dict[str, Any]:
        return _clock(sandbox)

    @router.post("/clock/advance")
    async def advance(move: ClockMove, sandbox: SandboxDep) -> dict[str, Any]:
        """Move the sandbox's clock (e.g. 86400 s to close every customer-service window)."""
        sandbox.clock.advance(timedelta(seconds=move.seconds))
        return _clock(sandbox)

    @router.get("/channels")
    async def channels(sandbox: SandboxDep) -> list[dict[str, Any]]:
        return [c.to_document() for c in sandbox.catalog.channels()]

    @router.put("/channels")
    async def put_channel(channel: Channel, sandbox: SandboxDep) -> dict[str, Any]:
        sandbox.catalog.put_channel(channel)
        return channel.to_document()

    @router.get("/templates")
    async def templates(sandbox: SandboxDep) -> list[TemplateSpec]:
        return sandbox.catalog.templates()

    @router.put("/templates")
    async def put_template(template: TemplateSpec, sandbox: SandboxDep) -> TemplateSpec:
        sandbox.catalog.put_template(template)
        return template

    @router.get("/behaviour")
    async def behaviour(sandbox: SandboxDep) -> dict[str, Any]:
        """Status-webhook behaviour and the webhook retry budget."""
        return sandbox.configuration()

    @router.patch("/behaviour")
    async def configure(changes: dict[str, Any], sandbox: SandboxDep) -> dict[str, Any]:
        """Change any of them (the fields of ``Behaviour`` and ``RetryPolicy``)."""
        return sandbox.configure(changes)

    @router.get("/customers/{phone_number_id}/{wa_id}")
    async def customer(phone_number_id: str, wa_id: str, sandbox: SandboxDep) -> dict[str, Any]:
        """The customer's last message time and whether free-form messages are allowed now."""
        last = sandbox.last_inbound(phone_number_id, wa_id)
        now = sandbox.clock()
        window = sandbox.limits.window
        return {"last_inbound_at": last, "window_open": last is not None and now < last + window,
                "window_expires_at": None if last is None else last + window}

    @router.post("/media/{media_id}/expire")
    async def expire_media(media_id: str, sandbox: SandboxDep) -> dict[str, Any]:
        """Meta's copy of a media (an upload or a customer's) ends now, as after its retention
        (30 days for uploads, days for customers' media): ``GET /{media_id}`` and every URL it
        gave out answer as for an unknown id from here on."""
        if not sandbox.media.expire(media_id, sandbox.clock()):
            raise ControlError(404, f"no media {media_id!r} (unknown, deleted or expired)")
        return {"media_id": media_id, "expired": True}

    @router.get("/stats")
    async def stats(sandbox: SandboxDep) -> dict[str, Any]:
        return sandbox.stats()

    @router.post("/webhooks/wait-idle")
    async def wait_idle(wait: IdleWait, sandbox: SandboxDep) -> dict[str, Any]:
        """Answer once every scheduled webhook is posted (or ``timeout`` passed)."""
        idle = await sandbox.dispatcher.wait_idle(wait.timeout)
        return {"idle": idle, "pending": sandbox.dispatcher.pending}

    @router.post("/reset", status_code=204)
    async def reset(sandbox: SandboxDep) -> None:
        """Forget received requests, windows, faults, rate state, scheduled webhooks, clock."""
        sandbox.reset()

    return router


def _persona_json(persona: Persona) -> dict[str, Any]:
    return {"wa_id": persona.number, "user_id": persona.user_id, "username": persona.username,
            "hide_number": persona.hidden}


def _clock(sandbox: Sandbox) -> dict[str, Any]:
    return {"now": sandbox.clock().isoformat(),
            "offset_seconds": sandbox.clock.offset.total_seconds()}


def _received_json(item: ReceivedRequest) -> dict[str, Any]:
    return {"seq": item.seq, "phone_number_id": item.phone_number_id,
            "at": item.at.isoformat(), "body": item.body, "http_status": item.http_status,
            "wamid": item.wamid, "error_code": item.error_code, "fault": item.fault}


def _status_json(item: EmittedStatus) -> dict[str, Any]:
    return {"seq": item.seq, "wamid": item.wamid, "phone_number_id": item.phone_number_id,
            "recipient_wa_id": item.recipient_wa_id,
            "recipient_user_id": item.recipient_user_id, "status": item.status,
            "at": item.at.isoformat(), "callback_data": item.callback_data,
            "error_code": item.error_code, "delivered": item.delivered,
            "attempts": item.attempts, "dropped": item.dropped}


def _inbound_json(item: InboundRecord) -> dict[str, Any]:
    return {"seq": item.seq, "wamid": item.wamid, "phone_number_id": item.phone_number_id,
            "from_wa_id": item.from_wa_id, "type": item.type, "at": item.at.isoformat(),
            "webhook_status": item.webhook_status, "delivered": item.delivered,
            "attempts": item.attempts, "dropped": item.dropped}


def _json(content: Any) -> Response:
    return Response(orjson.dumps(content), media_type="application/json")
