"""The sandbox for tests and benchmarks: run it in-process, and drive it through its control API.

::

    from sandbox.testing import running_sandbox

    async with running_sandbox(channels=[channel], webhook_url=ingest_url,
                               app_secret="app-secret-for-tests") as sandbox:
        sender_base_url = sandbox.base_url          # POST {base_url}/v25.0/{id}/messages
        await sandbox.customer_says(channel.phone_number_id, "16505551234", "hi")
        await sandbox.inject_fault(channel.phone_number_id, "server_error", count=2)
        ...
        assert len(await sandbox.received(channel.phone_number_id, accepted_only=True)) == 1
        assert len(await sandbox.read_receipts(channel.phone_number_id, message_id=wamid)) == 1
        await sandbox.advance_clock(timedelta(hours=24, seconds=1))

:class:`SandboxClient` also works against a sandbox started elsewhere (``./dev run``):
``async with SandboxClient.connect("http://127.0.0.1:8090") as sandbox: ...``.
The signatures here are stable: other services' tests are written against them.

Size: one client method per control endpoint of the sandbox, so tests have one place to look.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
import uvicorn

from sandbox.catalog import TemplateSpec, demo_channel, demo_templates
from sandbox.faults import Fault, FaultKind
from sandbox.records import (
    EmittedStatus,
    InboundRecord,
    InboundResult,
    Posted,
    ReceivedRequest,
)
from sandbox.settings import SandboxSettings
from shared.channels import Channel

GRAPH_VERSION = "v25.0"
CONTROL = "/_sandbox"
DEFAULT_APP_SECRET = "sandbox-app-secret"


class SandboxClient:
    """The sandbox's control API, typed. ``base_url`` is what a Cloud API client points at."""

    def __init__(self, base_url: str, http: httpx.AsyncClient) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = http

    @classmethod
    @asynccontextmanager
    async def connect(cls, base_url: str, timeout: float = 30.0) -> AsyncIterator[SandboxClient]:
        """A client for a sandbox that is already running (e.g. under ``./dev run``)."""
        async with httpx.AsyncClient(base_url=base_url, timeout=timeout) as http:
            yield cls(base_url, http)

    @property
    def cloud_api_base_url(self) -> str:
        """``{base_url}/v25.0``: a Cloud API base URL, version included (sends go to
        ``{cloud_api_base_url}/{phone_number_id}/messages``)."""
        return f"{self.base_url}/{GRAPH_VERSION}"

    def messages_url(self, phone_number_id: str, version: str = GRAPH_VERSION) -> str:
        """The send endpoint of a business number."""
        return f"{self.base_url}/{version}/{phone_number_id}/messages"

    # -- the simulated customer ------------------------------------------------------------

    async def customer_says(
        self,
        phone_number_id: str,
        wa_id: str,
        text: str = "Hello",
        *,
        name: str | None = "Sandbox Customer",
        reply_to: str | None = None,
        username: str | None = None,
        hide_number: bool | None = None,
        sent_ago: timedelta | float | None = None,
    ) -> InboundResult:
        """The customer sends a text (``reply_to``: the wamid it quotes); opens the window.

        ``wa_id``: the customer's number, or any number or BSUID they ever had. ``username``
        and ``hide_number=True`` make them a username customer whose number Meta hides: the
        webhook carries only their BSUID (``InboundResult.from_user_id``). ``sent_ago``: the
        message was sent that long ago and reaches the business only now (its timestamp is
        the sending time): ``sent_ago=timedelta(hours=25)`` is a customer whose window is
        closed, for the sandbox and the product alike."""
        context = {"id": reply_to} if reply_to else None
        return await self.customer_sends(phone_number_id, wa_id, "text", {"body": text},
                                         name=name, context=context, username=username,
                                         hide_number=hide_number, sent_ago=sent_ago)

    async def customer_sends(
        self,
        phone_number_id: str,
        wa_id: str,
        message_type: str,
        content: dict[str, Any] | list[Any] | None = None,
        *,
        name: str | None = "Sandbox Customer",
        context: dict[str, Any] | None = None,
        referral: dict[str, Any] | None = None,
        username: str | None = None,
        hide_number: bool | None = None,
        media_bytes: int | None = None,
        sent_ago: timedelta | float | None = None,
    ) -> InboundResult:
        """The customer sends any message type (``image``, ``location``, ``reaction``,
        ``interactive``, ``button``, ``contacts``, ``order``, ``system``, ...); ``content`` is
        the type's object as in Meta's webhook, with sensible defaults for what is left out.
        ``media_bytes``: a media message's file size (its placeholder padded to it).
        ``sent_ago``: as in :meth:`customer_says`. The webhook is POSTed before this returns
        (see ``webhook_status``); a failed POST is retried in the background (see
        :meth:`customer_messages`)."""
        body: dict[str, Any] = {"phone_number_id": phone_number_id, "from": wa_id,
                                "type": message_type, "name": name}
        if content is not None:
            body["content"] = content
        if context is not None:
            body["context"] = context
        if referral is not None:
            body["referral"] = referral
        if username is not None:
            body["username"] = username
        if hide_number is not None:
            body["hide_number"] = hide_number
        if media_bytes is not None:
            body["media_bytes"] = media_bytes
        if sent_ago is not None:
            body["sent_seconds_ago"] = _seconds(sent_ago)
        data = await self._call("POST", "/customer-messages", json=body)
        return InboundResult.model_validate(data)

    async def put_customer(self, phone_number_id: str, wa_id: str, *,
                           username: str | None = None,
                           hide_number: bool | None = None) -> dict[str, Any]:
        """Shape a customer without a message: a username, a number Meta hides. Answers
        ``{wa_id, user_id, username, hide_number}`` (``user_id``: their BSUID)."""
        data: dict[str, Any] = await self._call("PUT", "/customers", json={
            "phone_number_id": phone_number_id, "customer": wa_id, "username": username,
            "hide_number": hide_number})
        return data

    async def change_number(self, phone_number_id: str, wa_id: str,
                            new_wa_id: str | None = None, *,
                            name: str | None = "Sandbox Customer") -> InboundResult:
        """The customer changes their number (default: the next one, ``…1234`` -> ``…1235``):
        a ``user_changed_number`` system message (``user_changed_user_id`` for a customer whose
        number is hidden). Their later messages come from the new number and its BSUID
        (``wa_id`` keeps naming them)."""
        return await self._change("change-number", phone_number_id, wa_id, name,
                                  new_wa_id=new_wa_id)

    async def change_user_id(self, phone_number_id: str, wa_id: str,
                             new_user_id: str | None = None, *, new_wa_id: str | None = None,
                             name: str | None = "Sandbox Customer") -> InboundResult:
        """The customer's BSUID changes (``new_user_id``, or derived from the hidden
        ``new_wa_id``, default the next number): a ``user_changed_user_id`` system message. Meta
        does not share the new number, so later messages carry only the new BSUID until
        :meth:`share_number`."""
        return await self._change("change-user-id", phone_number_id, wa_id, name,
                                  new_user_id=new_user_id, new_wa_id=new_wa_id)

    async def share_number(self, phone_number_id: str, wa_id: str, *,
                           how: str = "contact_request", text: str = "Here is my number",
                           name: str | None = "Sandbox Customer") -> InboundResult:
        """A hidden customer shares their number: ``how="contact_request"`` posts Meta's answer
        to a REQUEST_CONTACT_INFO button (a ``contacts`` message, ``origin:
        "contact_request"``, holding the number); ``how="message"`` a text that carries both
        ids. Later messages and statuses carry the number."""
        return await self._change("share-number", phone_number_id, wa_id, name, how=how,
                                  text=text)

    async def _change(self, action: str, phone_number_id: str, wa_id: str,
                      name: str | None, **fields: Any) -> InboundResult:
        body = {"phone_number_id": phone_number_id, "customer": wa_id, "name": name,
                **{k: v for k, v in fields.items() if v is not None}}
        data = await self._call("POST", f"/customers/{action}", json=body)
        return InboundResult.model_validate(data)

    # -- what the business sent --------------------------------------------------------------

    async def received(
        self, phone_number_id: str | None = None, *, accepted_only: bool = False,
        after_seq: int = 0,
    ) -> list[ReceivedRequest]:
        """Send requests the sandbox received, oldest first, with its answer to each."""
        params: dict[str, Any] = {"accepted_only": accepted_only, "after_seq": after_seq}
        if phone_number_id is not None:
            params["phone_number_id"] = phone_number_id
        data = await self._call("GET", "/received", params=params)
        return [ReceivedRequest.model_validate(item) for item in data["items"]]

    async def accepted(self, phone_number_id: str | None = None) -> list[ReceivedRequest]:
        """Only the requests answered with a wamid (what "was sent")."""
        return await self.received(phone_number_id, accepted_only=True)

    async def read_receipts(self, phone_number_id: str | None = None, *,
                            message_id: str | None = None) -> list[ReceivedRequest]:
        """The mark-as-read requests the sandbox answered (blue ticks), oldest first, without
        the typing indicators; ``message_id``: only those about that wamid."""
        return [r for r in await self.received(phone_number_id) if r.is_read_receipt
                and (message_id is None or r.read_message_id == message_id)]

    async def typing_indicators(self, phone_number_id: str | None = None, *,
                                message_id: str | None = None) -> list[ReceivedRequest]:
        """The typing indicators the sandbox answered (a mark-as-read with
        ``typing_indicator``), oldest first; ``message_id``: only those about that wamid."""
        return [r for r in await self.received(phone_number_id) if r.is_typing_indicator
                and (message_id is None or r.read_message_id == message_id)]

    async def customer_messages(self, phone_number_id: str | None = None, *,
                                after_seq: int = 0) -> list[InboundRecord]:
        """Customer messages posted as webhooks, oldest first, and how each delivery went
        (``delivered``, ``attempts``, ``dropped``, the last POST's ``webhook_status``)."""
        params: dict[str, Any] = {"after_seq": after_seq}
        if phone_number_id is not None:
            params["phone_number_id"] = phone_number_id
        data = await self._call("GET", "/customer-messages", params=params)
        return [InboundRecord.model_validate(item) for item in data["items"]]

    # -- what the sandbox told the business ----------------------------------------------------

    async def statuses(self, phone_number_id: str | None = None, *, wamid: str | None = None,
                       after_seq: int = 0) -> list[EmittedStatus]:
        """Status webhook items the sandbox emitted, oldest first (a duplicated one twice), each
        with its delivery state: ``delivered`` (a POST carrying it was answered 2xx),
        ``attempts``, ``dropped`` (given up after retries, or the queue was full)."""
        params: dict[str, Any] = {"after_seq": after_seq}
        if phone_number_id is not None:
            params["phone_number_id"] = phone_number_id
        if wamid is not None:
            params["wamid"] = wamid
        data = await self._call("GET", "/statuses", params=params)
        return [EmittedStatus.model_validate(item) for item in data["items"]]

    # -- the business's side of Meta's API -------------------------------------------------------

    async def expire_media(self, media_id: str) -> None:
        """Meta's copy of the media ends now (as after its retention): the id and its URLs are
        unknown from here on."""
        await self._call("POST", f"/media/{media_id}/expire")

    async def upload_media(self, phone_number_id: str, data: bytes, mime_type: str, *,
                           filename: str = "upload", version: str = GRAPH_VERSION) -> str:
        """Upload a file as the business would (``POST /{id}/media`` with the number's access
        token, from the control API); the media id to send it with (kept 30 days)."""
        channel = next((c for c in await self.channels()
                        if c.phone_number_id == phone_number_id), None)
        if channel is None:
            raise SandboxControlError(f"unknown phone_number_id {phone_number_id!r}")
        response = await self._http.post(
            f"{self.base_url}/{version}/{phone_number_id}/media",
            headers={"Authorization": f"Bearer {channel.access_token.get_secret_value()}"},
            data={"messaging_product": "whatsapp", "type": mime_type},
            files={"file": (filename, data, mime_type)})
        if response.status_code != 200:
            raise SandboxControlError(f"media upload: HTTP {response.status_code}: "
                                      f"{response.text[:500]}")
        media_id: str = response.json()["id"]
        return media_id

    # -- the customer beyond messages, the Business app, the account ---------------------------

    async def customer_edits(self, phone_number_id: str, wa_id: str, message_id: str,
                             text: str | None = None, *, message: dict[str, Any] | None = None,
                             name: str | None = None) -> InboundResult:
        """The customer edits ``message_id`` (one they sent, at most 15 minutes ago): the new
        ``text``, or the whole new ``message`` (``{"type": "image", "image": {...}}``). Posts
        a ``messages`` webhook of type ``edit``."""
        data = await self._call("POST", "/customers/edit", json=_body(
            phone_number_id=phone_number_id, customer=wa_id, message_id=message_id, text=text,
            message=message, name=name))
        return InboundResult.model_validate(data)

    async def customer_deletes(self, phone_number_id: str, wa_id: str, message_id: str, *,
                               name: str | None = None) -> InboundResult:
        """The customer deletes ``message_id`` for everyone: a ``revoke`` message."""
        return InboundResult.model_validate(await self._call(
            "POST", "/customers/revoke", json=_body(phone_number_id=phone_number_id,
                                                    customer=wa_id, message_id=message_id,
                                                    name=name)))

    async def stop_marketing(self, phone_number_id: str, wa_id: str, *, resume: bool = False,
                             name: str | None = None) -> Posted:
        """The customer stops (``resume=True``: resumes) marketing messages from the number:
        ``user_preferences``. While stopped, MARKETING templates to them fail with 131050."""
        return await self._posted("/customers/marketing", phone_number_id=phone_number_id,
                                  customer=wa_id, value="resume" if resume else "stop",
                                  name=name)

    async def customer_calls(self, phone_number_id: str, wa_id: str, *, answered: bool = True,
                             duration: timedelta | float = 60,
                             name: str | None = None) -> Posted:
        """The customer calls the number: ``calls`` connect then terminate (``answered``:
        COMPLETED after ``duration``; else FAILED, a missed call). ``Posted.id`` is the call
        id. Opens the customer's window."""
        return await self._posted("/customers/call", phone_number_id=phone_number_id,
                                  customer=wa_id, answered=answered,
                                  duration_seconds=max(1, round(_seconds(duration))), name=name)

    async def app_sends(self, phone_number_id: str, wa_id: str, text: str | None = None, *,
                        message_type: str = "text",
                        content: dict[str, Any] | list[Any] | None = None,
                        name: str | None = None) -> Posted:
        """The business writes to the customer from the WhatsApp Business app on the same
        number: ``smb_message_echoes``. ``Posted.id`` is the echo's wamid."""
        return await self._posted("/business-app/messages", phone_number_id=phone_number_id,
                                  customer=wa_id, type=message_type,
                                  content=text if text is not None else content, name=name)

    async def app_edits(self, phone_number_id: str, wa_id: str, message_id: str,
                        text: str | None = None, *,
                        message: dict[str, Any] | None = None) -> Posted:
        """The business edits an app message: an echo of type ``edit``."""
        return await self._posted("/business-app/edit", phone_number_id=phone_number_id,
                                  customer=wa_id, message_id=message_id, text=text,
                                  message=message)

    async def app_deletes(self, phone_number_id: str, wa_id: str, message_id: str) -> Posted:
        """The business deletes an app message: an echo of type ``revoke``."""
        return await self._posted("/business-app/revoke", phone_number_id=phone_number_id,
                                  customer=wa_id, message_id=message_id)

    async def history_sync(self, phone_number_id: str, wa_id: str,
                           messages: Sequence[dict[str, Any]] = (), *, chunk_size: int = 100,
                           declined: bool = False) -> Posted:
        """The Business app's history of the thread with the customer: ``history`` webhooks,
        phase by phase and chunk by chunk. Each message is ``{"from": "customer" |
        "business", "type"?, "content"?, "sent_seconds_ago"?, "status"?}``. ``declined``:
        the business declined to share its history (Meta's error 2593109)."""
        return await self._posted("/business-app/history", phone_number_id=phone_number_id,
                                  customer=wa_id, messages=list(messages),
                                  chunk_size=chunk_size, declined=declined)

    async def app_contacts_sync(self, phone_number_id: str,
                                contacts: Sequence[dict[str, Any]]) -> Posted:
        """The Business app's address book: ``smb_app_state_sync``. Each contact is
        ``{"phone_number", "full_name"?, "first_name"?, "action"?: "add" | "remove"}``."""
        return await self._posted("/business-app/contacts", phone_number_id=phone_number_id,
                                  contacts=list(contacts))

    async def restrict_account(self, waba_id: str,
                               restriction_type: str = "RESTRICTED_BIZ_INITIATED_MESSAGING", *,
                               expires_in: timedelta | float = timedelta(days=1)) -> Posted:
        """Meta restricts the account: ``account_update`` ``ACCOUNT_RESTRICTION``. Until it
        expires (on the sandbox's clock) or :meth:`lift_restrictions`, the sandbox refuses
        what the restriction forbids with 368 (a business-initiated template, for the
        default)."""
        return await self.account_update(waba_id, "ACCOUNT_RESTRICTION", restrictions=[{
            "restriction_type": restriction_type, "expires_in_seconds": _seconds(expires_in)}])

    async def lift_restrictions(self, waba_id: str) -> None:
        """Meta lifts the account's restrictions early (no webhook)."""
        await self._call("DELETE", f"/account-restrictions/{waba_id}")

    async def account_update(self, waba_id: str, event: str, *,
                             restrictions: Sequence[dict[str, Any]] = (),
                             details: dict[str, Any] | None = None) -> Posted:
        """Any ``account_update`` (``details``: the event's fields, e.g. ``{"violation_info":
        {"violation_type": "ADULT"}}``)."""
        return await self._posted("/account-update", waba_id=waba_id, event=event,
                                  restrictions=list(restrictions), details=details or {})

    async def account_alert(self, waba_id: str, alert_type: str, *, severity: str = "WARNING",
                            description: str | None = None) -> Posted:
        """``account_alerts`` about the account's first number."""
        return await self._posted("/account-alerts", waba_id=waba_id, alert_type=alert_type,
                                  alert_severity=severity, alert_description=description)

    async def capability_update(self, waba_id: str, **capabilities: Any) -> Posted:
        """``business_capability_update`` (Meta's field names, e.g.
        ``max_daily_conversations_per_business=10000``)."""
        return await self._posted("/business-capability", waba_id=waba_id,
                                  capabilities=capabilities or None)

    async def change_template_components(self, waba_id: str, name: str, body: str, *,
                                         language: str = "en_US", header: str | None = None,
                                         footer: str | None = None,
                                         buttons: list[dict[str, Any]] | None = None
                                         ) -> TemplateSpec:
        """Meta changes a template's content: later sends use the new body (its variables
        recounted) and ``message_template_components_update`` is posted."""
        data = await self._call("POST", "/template-components", json=_body(
            waba_id=waba_id, name=name, language=language, body=body, header=header,
            footer=footer, buttons=buttons))
        return TemplateSpec.model_validate(data)

    async def _posted(self, path: str, **fields: Any) -> Posted:
        return Posted.model_validate(await self._call("POST", path, json=_body(**fields)))

    # -- faults, clock, catalog, behaviour ------------------------------------------------------

    async def inject_fault(
        self,
        phone_number_id: str,
        kind: FaultKind,
        count: int = 1,
        *,
        code: int | None = None,
        http_status: int | None = None,
        seconds: float | None = None,
        accept: bool = False,
    ) -> None:
        """The next ``count`` requests to the number answer with this fault (see sandbox.faults)."""
        fault = Fault(kind=kind, count=count, code=code, http_status=http_status,
                      seconds=seconds, accept=accept)
        await self._call("POST", f"/faults/{phone_number_id}",
                         json=fault.model_dump(exclude_none=True))

    async def clear_faults(self, phone_number_id: str | None = None) -> None:
        path = "/faults" if phone_number_id is None else f"/faults/{phone_number_id}"
        await self._call("DELETE", path)

    async def advance_clock(self, by: timedelta | float) -> datetime:
        """Move the sandbox's clock forward (or back, if negative); returns its new now."""
        seconds = by.total_seconds() if isinstance(by, timedelta) else float(by)
        data = await self._call("POST", "/clock/advance", json={"seconds": seconds})
        return datetime.fromisoformat(data["now"])

    async def now(self) -> datetime:
        data = await self._call("GET", "/clock")
        return datetime.fromisoformat(data["now"])

    async def channels(self) -> list[Channel]:
        data = await self._call("GET", "/channels")
        return [Channel.model_validate(item) for item in data]

    async def templates(self) -> list[TemplateSpec]:
        data = await self._call("GET", "/templates")
        return [TemplateSpec.model_validate(item) for item in data]

    async def put_channel(self, channel: Channel) -> None:
        """Add a business number, or replace the one with the same phone_number_id."""
        await self._call("PUT", "/channels", json=channel.to_document())

    async def put_template(self, template: TemplateSpec) -> None:
        """Add a template, or replace it (e.g. to make it PAUSED or DISABLED)."""
        await self._call("PUT", "/templates", json=template.model_dump(mode="json"))

    async def review_templates(self, *, reject: Sequence[str] = (), reason: str = "NONE",
                               delay_seconds: float | None = None) -> None:
        """How the next template reviews end: these names REJECTED (with ``reason``)."""
        body: dict[str, Any] = {"reject": list(reject), "reason": reason}
        if delay_seconds is not None:
            body["delay_seconds"] = delay_seconds
        await self._call("PUT", "/template-review", json=body)

    async def change_template_status(self, waba_id: str, name: str, event: str,
                                     language: str = "en_US",
                                     reason: str | None = None) -> None:
        """Set a template's status now (PAUSED, DISABLED, REINSTATED, ...); posts the webhook."""
        await self._call("POST", "/template-status", json={
            "waba_id": waba_id, "name": name, "language": language, "event": event,
            "reason": reason})

    async def change_template_quality(self, waba_id: str, name: str, score: str,
                                      language: str = "en_US") -> None:
        """Set a template's quality score now; posts ``message_template_quality_update``."""
        await self._call("POST", "/template-quality", json={
            "waba_id": waba_id, "name": name, "language": language, "score": score})

    async def configure(self, **behaviour: Any) -> dict[str, Any]:
        """Change status-webhook behaviour at run time (any of ``sent_delay_seconds``,
        ``delivered_delay_seconds``, ``read_delay_seconds``, ``delay_jitter``,
        ``send_read_status``, ``out_of_order_probability``, ``duplicate_probability``,
        ``pair_rate_limit``) and the webhook retry budget (``webhook_retry_seconds``: retry a
        failed webhook for that long, as Meta does for days; ``webhook_max_attempts`` when it
        is None; ``webhook_retry_base_seconds``, ``webhook_retry_max_seconds``: the backoff);
        returns the whole behaviour now in force."""
        data: dict[str, Any] = await self._call("PATCH", "/behaviour", json=behaviour)
        return data

    async def stats(self) -> dict[str, Any]:
        """Counters: requests by outcome, webhooks posted/failed/dropped, statuses pending."""
        data: dict[str, Any] = await self._call("GET", "/stats")
        return data

    async def wait_webhooks_idle(self, timeout: float = 20.0) -> None:
        """Wait until every scheduled status webhook has been posted (or given up)."""
        await self._call("POST", "/webhooks/wait-idle", json={"timeout": timeout},
                         timeout=timeout + 5)

    async def reset(self) -> None:
        """Forget received requests, emitted statuses, customer messages, customers' windows,
        faults, rate state and clock offset."""
        await self._call("POST", "/reset")

    async def _call(self, method: str, path: str, timeout: float | None = None,
                    **kwargs: Any) -> Any:
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        response = await self._http.request(method, f"{self.base_url}{CONTROL}{path}",
                                            **kwargs, **extra)
        if response.status_code >= 400:
            raise SandboxControlError(f"{method} {CONTROL}{path}: HTTP {response.status_code}: "
                                      f"{response.text[:500]}")
        return response.json() if response.content else None


class SandboxControlError(RuntimeError):
    """The control API refused a call (a bad argument, an unknown number)."""


def _seconds(value: timedelta | float) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _body(**fields: Any) -> dict[str, Any]:
    """A control request body without the fields left unset (the API's defaults apply)."""
    return {k: v for k, v in fields.items() if v is not None}


@asynccontextmanager
async def running_sandbox(
    *,
    channels: Sequence[Channel] | None = None,
    templates: Sequence[TemplateSpec] | None = None,
    webhook_url: str | None = None,
    app_secret: str = DEFAULT_APP_SECRET,
    clock: Callable[[], datetime] | None = None,
    **settings: Any,
) -> AsyncIterator[SandboxClient]:
    """The sandbox under uvicorn on a free loopback port, in this event loop, and its client.

    ``channels``/``templates`` default to the demo ones (``sandbox.catalog``); ``webhook_url``
    None posts no webhooks; ``settings`` are any other :class:`SandboxSettings` fields
    (e.g. ``read_delay_seconds=0.05``), or ``webhook_retry_seconds`` (the retry budget, set
    through :meth:`SandboxClient.configure` once started). ``clock`` replaces the wall clock
    under the offset.
    """
    from sandbox.main import SHUTDOWN_GRACE_SECONDS, create_app  # the composition root

    retry_seconds = settings.pop("webhook_retry_seconds", None)

    config = SandboxSettings(
        channels=list(channels) if channels is not None else [demo_channel()],
        templates=list(templates) if templates is not None else demo_templates(),
        webhook_url=webhook_url,
        app_secret=app_secret,
        host="127.0.0.1",
        port=0,
        **settings,
    )
    app = create_app(config, clock=clock) if clock is not None else create_app(config)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None,
                                           access_log=False, lifespan="on",
                                           timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                await task
                raise RuntimeError("the sandbox did not start")
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        base_url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(timeout=30.0) as http:
            client = SandboxClient(base_url, http)
            if retry_seconds is not None:
                await client.configure(webhook_retry_seconds=retry_seconds)
            yield client
    finally:
        server.should_exit = True
        await task
