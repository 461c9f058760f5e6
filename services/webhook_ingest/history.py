"""``field: history`` -> the WhatsApp Business app's chat history, as messages. Pure: no I/O.

Coexistence onboarding: when the business agreed to share its chat history, Meta sends up to 180
days of it (group chats excluded), in three phases (0: day 0-1, 1: day 1-90, 2: day 90-180), each
in chunks that may arrive out of order:
``value.history[]{metadata{phase, chunk_order, progress}, threads[]{id (the customer's number),
messages[]{from, to? (only on the business's messages), id, timestamp, type, <type>, history_context
{status}}}}``. Media messages come without their media id (``media_placeholder``); for media of
the last 14 days, further ``history`` webhooks carry them as ``value.messages[]``. When the
business declined, the chunk is ``{errors: [{code: 2593109, ...}]}`` instead.

What it becomes:

- each customer message -> :class:`MessageReceived`, each business message ->
  :class:`MessageEchoed`, both with ``history=True`` (never unread, never a notification, never
  opening a window); ``history_context`` stays in ``extra``. A media follow-up repeats a wamid
  already published, so its event id is its own (kind ``history_media``) and the store updates
  that message's content;
- each chunk -> one :class:`AccountNoticeReceived` for the admins: ``HISTORY_SYNC_PROGRESS`` with
  ``phase``, ``chunk_order`` and ``progress`` (100: done) in ``details``; or
  ``HISTORY_SHARING_DECLINED`` (error 2593109) / ``HISTORY_SYNC_FAILED`` (any other error), the
  error's text as ``description`` and the raw ``errors`` in ``details``.
"""

from __future__ import annotations

from typing import Any

from services.webhook_ingest.account import notice
from services.webhook_ingest.change import ITEM_ERRORS, Change, known_keys
from services.webhook_ingest.messages import parse_echo, parse_message, same_number
from services.webhook_ingest.payload import Metadata, Raw, leftovers, meta_errors, optional_text
from shared.events.base import Event

DECLINED_CODE = 2593109
SYNC_PROGRESS = "HISTORY_SYNC_PROGRESS"
SHARING_DECLINED = "HISTORY_SHARING_DECLINED"
SYNC_FAILED = "HISTORY_SYNC_FAILED"
_CHUNK_KEYS = frozenset({"metadata", "threads", "errors"})


def parse_history(ctx: Change, value: Raw) -> None:
    """The messages of every chunk, one notice per chunk, and any media follow-ups."""
    metadata = Metadata.of(value)
    tenant = ctx.tenant_for_number(metadata.phone_number_id)
    raw_meta = value["metadata"]
    contacts = value.get("contacts")
    contact_list = contacts if isinstance(contacts, list) else []
    chunks = value.get("history")
    for chunk in chunks if isinstance(chunks, list) else ():
        if isinstance(chunk, dict) and chunk.keys() & _CHUNK_KEYS:
            _chunk(ctx, metadata, tenant, raw_meta, chunk)
        else:
            ctx.item_failed({"metadata": raw_meta, "history": [chunk]},
                            ValueError("a history item with neither metadata, threads nor errors"))
    ctx.each(value, "messages",
             lambda item: _message(ctx, item, metadata, contact_list, tenant, None,
                                   id_kind="history_media"),
             {"metadata": raw_meta, "contacts": contacts})
    if "errors" in value:
        ctx.value_errors(value, metadata, tenant)
    rest = leftovers(value, known_keys(value, "history", "messages"))
    if rest:
        ctx.unhandled({"metadata": raw_meta, **rest})


def _chunk(ctx: Change, metadata: Metadata, tenant: str, raw_meta: Any, chunk: Raw) -> None:
    chunk_meta = chunk.get("metadata")
    details = leftovers(chunk, _CHUNK_KEYS)
    if isinstance(chunk_meta, dict):
        for key, item in chunk_meta.items():
            details.setdefault(key, item)
        if not chunk_meta.keys().isdisjoint(leftovers(chunk, _CHUNK_KEYS)):
            details["metadata"] = chunk_meta  # a name clash: keep the object whole
    elif chunk_meta is not None:
        details["metadata"] = chunk_meta
    for key, item in metadata.kept().items():  # the business number, for the admins' notice
        details.setdefault(key, item)
    identity = {"metadata": raw_meta, "history": [{k: v for k, v in chunk.items()
                                                   if k != "threads"}]}
    number = metadata.phone_number_id
    if "errors" in chunk:
        errors, _ = meta_errors(chunk["errors"])
        declined = any(error.code == DECLINED_CODE for error in errors)
        first = errors[0] if errors else None
        notice(ctx, identity, event=SHARING_DECLINED if declined else SYNC_FAILED,
               number=number, tenant=tenant,
               description=(first.message or first.title or first.details) if first else None,
               details={**details, "errors": chunk["errors"]})
    else:
        progress = details.get("progress")
        notice(ctx, identity, event=SYNC_PROGRESS, number=number, tenant=tenant,
               description=(f"Chat history from the WhatsApp Business app: {progress}% synced"
                            if isinstance(progress, int | float | str) else None),
               details=details)

    threads = chunk.get("threads")
    if threads is not None and not isinstance(threads, list):
        ctx.unhandled({"metadata": raw_meta, "history": [{"metadata": chunk_meta,
                                                          "threads": threads}]})
        return
    for thread in threads or ():
        kept = {"metadata": raw_meta, "history": [{"metadata": chunk_meta, "threads": [thread]}]}
        if not isinstance(thread, dict) or not isinstance(thread.get("messages", []), list):
            ctx.item_failed(kept, TypeError("a history thread is not an object with messages"))
            continue
        try:
            thread_id = optional_text(thread, "id")
        except ValueError as exc:
            ctx.item_failed(kept, exc)
            continue
        if rest := leftovers(thread, {"id", "messages"}):
            ctx.unhandled({"metadata": raw_meta, "history": [
                {"metadata": chunk_meta, "threads": [{"id": thread.get("id"), **rest}]}]})
        for message in thread.get("messages", []):
            try:
                if not isinstance(message, dict):
                    raise TypeError("a history message is not an object")
                ctx.events.append(_message(ctx, message, metadata, (), tenant, thread_id))
            except ITEM_ERRORS as exc:
                ctx.item_failed({"metadata": raw_meta, "history": [
                    {"metadata": chunk_meta,
                     "threads": [{"id": thread.get("id"), "messages": [message]}]}]}, exc)


def _message(ctx: Change, raw: Raw, metadata: Metadata, contacts: Any, tenant: str,
             thread_id: str | None, *, id_kind: str | None = None) -> Event:
    """A business message (``to`` present, or ``from`` the business number) is an echo."""
    business = ("to" in raw or "to_user_id" in raw
                or same_number(raw.get("from"), metadata.display_phone_number))
    if business:
        return parse_echo(raw, metadata, contacts, tenant, ctx.salt, history=True,
                          customer_hint=thread_id, id_kind=id_kind or "echo")
    return parse_message(raw, metadata, contacts, tenant, ctx.salt, history=True,
                         customer_hint=thread_id, id_kind=id_kind or "message")
