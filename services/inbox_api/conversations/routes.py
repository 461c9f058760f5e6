"""Conversations: the list, one conversation, its thread, opening one with a template; the
commands on a conversation (each answers 202 once it is on inbox.commands.v1); the live stream
of changes; a message's media; attachments (a file sent as media).

Size: every route under ``/conversations/{id}`` of the conversations feature, with the few
lines that read an attachment's form and mark the caller's mentions (notes/) on what it lists.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Query, Request
from fastapi.responses import StreamingResponse
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from services.inbox_api.accounts.credentials import Identity
from services.inbox_api.conversations.attachments import (
    CAPTION_LIMIT,
    HEAD_BYTES,
    LARGEST,
    Attachment,
    format_size,
)
from services.inbox_api.conversations.schemas import (
    AssigneeIn,
    CommandAccepted,
    ConversationOut,
    ConversationPage,
    ListFilter,
    MessagePage,
    NewConversationIn,
    ReactionIn,
    ReadIn,
    SendIn,
    StatusIn,
)
from services.inbox_api.conversations.stream import Change, event_stream
from services.inbox_api.deps import (
    Caller,
    Commands,
    Hub,
    IdempotencyKey,
    Media,
    Mentions,
    Queries,
    Settings,
)
from services.inbox_api.errors import (
    BadRequest,
    InvalidInput,
    TooLarge,
    UnsupportedMedia,
    error_responses,
)
from services.inbox_api.metrics import STREAM_CLIENTS
from services.inbox_api.teams.assignees import team_assignee

router = APIRouter()

ConversationId = Annotated[str, Path(min_length=3, max_length=200,
                                     description="`{phone_number_id}:{wa_id}`")]
SEND_ERRORS = error_responses(401, 404, 409, 422, 503)
COMMAND_ERRORS = error_responses(401, 404, 409, 422, 503)  # 409: a merged conversation

# -- conversations and threads ---------------------------------------------------------------


@router.get("/conversations", tags=["conversations"],
            responses=error_responses(400, 401, 422))
async def list_conversations(
    caller: Caller, queries: Queries, mentions: Mentions,
    filter: ListFilter = "all",
    q: Annotated[str | None, Query(max_length=100,
                                   description="Contact name prefix, number, or text")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
    team: Annotated[str | None, Query(min_length=1, max_length=100,
                                      description="A team's id: the conversations assigned "
                                                  "to it (instead of ``filter``)")] = None,
    label: Annotated[str | None, Query(min_length=1, max_length=64,
                                       description="A label's id: only conversations with it "
                                                   "(labels/)")] = None,
) -> ConversationPage:
    """The tenant's conversations, latest activity first (keyset pagination), each with the
    caller's unread mentions."""
    page = await queries.conversations(caller, filter=team_assignee(team) if team else filter,
                                       q=q, cursor=cursor, limit=limit, label=label)
    return page.model_copy(update={"items": await _marked(caller, mentions, page.items)})


async def _marked(caller: Identity, mentions: Mentions,
                  items: list[ConversationOut]) -> list[ConversationOut]:
    """The conversations with the caller's unread mention counts (notes/)."""
    if mentions is None or not items:
        return items
    unread = await mentions.unread_mentions(caller, [c.id for c in items])
    return [c.model_copy(update={"mentions_unread": unread.get(c.id, 0)}) for c in items]


@router.post("/conversations", tags=["conversations"], status_code=202,
             responses=error_responses(401, 404, 409, 422))
async def open_conversation(caller: Caller, commands: Commands,
                            body: Annotated[NewConversationIn, Body()],
                            idempotency_key: IdempotencyKey = None) -> CommandAccepted:
    """Send a template to a customer of one of your numbers, whether or not they wrote before.
    The conversation appears once the send is processed (``conversation_id`` in the answer)."""
    return await commands.open_conversation(caller, body, idempotency_key)


@router.get("/conversations/{conversation_id}", tags=["conversations"],
            responses=error_responses(401, 404, 422))
async def get_conversation(caller: Caller, queries: Queries, mentions: Mentions,
                           conversation_id: ConversationId) -> ConversationOut:
    [shown] = await _marked(caller, mentions,
                            [await queries.conversation(caller, conversation_id)])
    return shown


@router.get("/conversations/{conversation_id}/messages", tags=["conversations"],
            responses=error_responses(400, 401, 404, 422))
async def list_messages(
    caller: Caller, queries: Queries, conversation_id: ConversationId,
    before: Annotated[str | None, Query(max_length=2000)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> MessagePage:
    """The thread, newest page first; inside a page, oldest to newest."""
    return await queries.thread(caller, conversation_id, before=before, limit=limit)


# -- commands --------------------------------------------------------------------------------


@router.post("/conversations/{conversation_id}/messages", tags=["commands"], status_code=202,
             responses=SEND_ERRORS)
async def send_message(caller: Caller, commands: Commands, conversation_id: ConversationId,
                       body: Annotated[SendIn, Body()],
                       idempotency_key: IdempotencyKey = None) -> CommandAccepted:
    """A free-form text (inside the 24 h window) or an approved template with its variables."""
    return await commands.send(caller, conversation_id, body, idempotency_key)


@router.post("/conversations/{conversation_id}/reactions", tags=["commands"], status_code=202,
             responses=SEND_ERRORS)
async def react(caller: Caller, commands: Commands, conversation_id: ConversationId,
                body: ReactionIn, idempotency_key: IdempotencyKey = None) -> CommandAccepted:
    """React to a message (``emoji`` "" removes the reaction)."""
    return await commands.react(caller, conversation_id, body, idempotency_key)


@router.post("/conversations/{conversation_id}/read", tags=["commands"], status_code=202,
             responses=COMMAND_ERRORS)
async def mark_read(caller: Caller, commands: Commands, conversation_id: ConversationId,
                    body: Annotated[ReadIn | None, Body()] = None,
                    idempotency_key: IdempotencyKey = None) -> CommandAccepted:
    """Mark read up to a customer's message (none named: their newest): clears unread, and
    blue ticks on WhatsApp once per message (unless the tenant turned read receipts off)."""
    return await commands.mark_read(caller, conversation_id, body or ReadIn(),
                                    idempotency_key)


@router.post("/conversations/{conversation_id}/typing", tags=["commands"], status_code=202,
             responses=error_responses(401, 404, 409, 422, 429, 503))
async def typing(caller: Caller, commands: Commands,
                 conversation_id: ConversationId) -> CommandAccepted:
    """The agent is typing: WhatsApp's typing indicator on the customer's newest message (it
    marks that message read too). Only inside the window and with read receipts on; at most
    once per 10 s per agent and conversation (429 with Retry-After otherwise)."""
    return await commands.typing(caller, conversation_id)


@router.post("/conversations/{conversation_id}/status", tags=["commands"], status_code=202,
             responses=COMMAND_ERRORS)
async def set_status(caller: Caller, commands: Commands, conversation_id: ConversationId,
                     body: StatusIn, idempotency_key: IdempotencyKey = None) -> CommandAccepted:
    """Resolve or reopen."""
    return await commands.set_status(caller, conversation_id, body, idempotency_key)


@router.post("/conversations/{conversation_id}/assignee", tags=["commands"], status_code=202,
             responses=COMMAND_ERRORS)
async def assign(caller: Caller, commands: Commands, conversation_id: ConversationId,
                 body: AssigneeIn, idempotency_key: IdempotencyKey = None) -> CommandAccepted:
    """Assign to an agent (``"me"`` = the caller) or unassign (null)."""
    return await commands.assign(caller, conversation_id, body, idempotency_key)


# The form around the file (caption, reply_to, part headers), with room to spare.
FORM_OVERHEAD = 64 * 1024
# The attachment form's largest body, refused with 413 as it streams past (main.py).
ATTACHMENT_LIMIT = LARGEST + FORM_OVERHEAD
ATTACHMENT_FORM: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "The file; its part's Content-Type is its MIME type"},
        "caption": {"type": "string", "maxLength": CAPTION_LIMIT,
                    "description": "Images, videos and documents only"},
        "reply_to": {"type": "string", "minLength": 1, "maxLength": 512,
                     "description": "The wamid of the message this one replies to"}}}}}}}


@router.post("/conversations/{conversation_id}/attachments", tags=["commands"], status_code=202,
             openapi_extra=ATTACHMENT_FORM,
             responses=error_responses(400, 401, 404, 409, 413, 415, 422, 502, 503))
async def send_attachment(caller: Caller, commands: Commands, conversation_id: ConversationId,
                          request: Request,
                          idempotency_key: IdempotencyKey = None) -> CommandAccepted:
    """An image, video, audio, document or sticker (inside the 24 h window), checked against
    WhatsApp's limits, uploaded to the Cloud API and sent by the media id it returns."""
    async with _attachment(request) as attachment:
        return await commands.send_media(caller, conversation_id, attachment, idempotency_key)


@asynccontextmanager
async def _attachment(request: Request) -> AsyncIterator[Attachment]:
    """The multipart form as an :class:`Attachment`; the spooled file is closed afterwards."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise UnsupportedMedia("Send the file as multipart/form-data (fields file, caption, "
                               "reply_to).", code="unsupported_media_type")
    length = request.headers.get("content-length", "")
    # Refused before a byte is read: no type allows more than LARGEST.
    if length.isdigit() and int(length) > LARGEST + FORM_OVERHEAD:
        raise TooLarge(f"The upload is {format_size(int(length))}; WhatsApp takes files up to "
                       f"{format_size(LARGEST)} (documents).", code="media_too_large")
    try:
        form = await request.form(max_files=1, max_fields=8)
    except HTTPException as exc:
        raise BadRequest(f"The multipart body cannot be read: {exc.detail}",
                         code="malformed_multipart") from None
    try:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise InvalidInput("file: a file is required (a form field named file, with a "
                               "file name).", code="validation_failed", field="file")
        # One file is allowed and it is "file": the other fields are text. The caption's
        # length is WhatsApp's rule (attachments.py).
        caption, reply_to = _text(form.get("caption")), _text(form.get("reply_to"))
        if reply_to is not None and len(reply_to) > 512:
            raise InvalidInput("reply_to: a message id of at most 512 characters.",
                               code="validation_failed", field="reply_to")
        head = await file.read(HEAD_BYTES)
        await file.seek(0)
        yield Attachment(filename=file.filename or "", declared_type=file.content_type,
                         size=file.size or 0, head=head, content=file.file,
                         caption=caption, reply_to=reply_to or None)
    finally:
        await form.close()


def _text(value: str | UploadFile | None) -> str | None:
    return value if isinstance(value, str) else None


# -- live changes ----------------------------------------------------------------------------


@router.get("/stream", tags=["live"], response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "`ready`, `conversation.changed`, `resync` events"},
                       **error_responses(401)})
async def stream(
    caller: Caller, hub: Hub, queries: Queries, settings: Settings,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=4000)] = None,
) -> StreamingResponse:
    """Live conversation changes; reconnect with ``Last-Event-ID`` to resume without gaps."""
    subscription = hub.subscribe(caller.tenant_id, last_event_id)
    tenant = caller.tenant_id

    async def render(change: Change) -> dict[str, Any] | None:
        data = await queries.render_change(tenant, change, hub.reads)
        if data is not None:  # a tenant's change, not the caller's mentions: the page keeps its
            data.pop("mentions_unread", None)
        return data

    return StreamingResponse(
        _counted(event_stream(hub, subscription, render, settings.stream_ping_seconds)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _counted(frames: AsyncIterator[str]) -> AsyncIterator[str]:
    """The stream, counted in the open-connections gauge while it runs."""
    STREAM_CLIENTS.inc()
    try:
        async for text in frames:
            yield text
    finally:
        STREAM_CLIENTS.dec()


# -- media -----------------------------------------------------------------------------------


MediaId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.-]+$")]


@router.get("/media/{media_id}", tags=["media"], response_class=StreamingResponse,
            responses={200: {"content": {"application/octet-stream": {}},
                             "description": "The media's bytes"},
                       **error_responses(401, 404, 422, 502, 503)})
async def media(caller: Caller, media: Media, media_id: MediaId) -> StreamingResponse:
    """The media's bytes: from the inbox's archive when it holds them (also after WhatsApp
    dropped its copy), else fetched from WhatsApp now (docs/media.md)."""
    stack = AsyncExitStack()
    try:
        served = await media.open(caller, media_id, stack)
    except BaseException:
        await stack.aclose()
        raise

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in served.download.body:
                yield chunk
        finally:
            await stack.aclose()

    return StreamingResponse(body(), media_type=served.download.mime_type,
                             headers=served.headers)


@router.post("/media/{media_id}/retry", tags=["media"], status_code=202,
             responses=error_responses(401, 404, 422, 503))
async def retry_media(caller: Caller, media: Media, media_id: MediaId,
                      idempotency_key: IdempotencyKey = None) -> CommandAccepted:
    """Download a customer's media into the archive again (after ``failed``, ``too_large`` or
    ``disallowed_type``, or for media older than the archive). 202 once the request is on
    inbox.commands.v1; the message's ``media.archive`` shows the outcome."""
    return await media.retry(caller, media_id, idempotency_key)
