"""Edits and deletions applied to the message they change (issue 15). Pure.

Meta sends an edit as a message of type ``edit`` (``edit{original_message_id, message{type,
<type object>}}``) and a deletion as ``revoke`` (``revoke{original_message_id}``);
webhook_ingest gives both an ``original_wamid`` and, for an edit, the new content (``content``,
``edited_type``). Older payloads said ``unsupported{type: edit|revoke}`` with the target, if at
all, in ``context``. The customer's come as MessageReceived, the business app's (coexistence) as
MessageEchoed. Either way the edit or deletion is never a message of its own (no bubble, no
unread): it changes its target.

- **An edit** becomes a version of the target: versions are ordered by (WhatsApp time, the
  original before edits, wamid); the newest is the message's ``content`` / ``message_type`` /
  ``preview``, the others are ``edit_history`` (oldest first). A version already there (same
  wamid) changes nothing. So any order of the original and its edits, duplicates included, gives
  the same document.
- **A deletion** sets ``deleted`` (``deleted_at`` the earliest report) and moves the content,
  preview and history into ``revoked`` (audit; inbox_api never returns it), leaving the preview
  "This message was deleted". Every rule works on the unsealed message (:func:`unsealed`) and
  seals it again (:func:`sealed`), so an edit that arrives after the deletion still lands in the
  audit record, never in what agents see.
- **Before the target** (another topic, an unordered history sync): the target's stub holds the
  edits (its ``edit_history``) and the deletion, and the message takes them over on arrival
  (:func:`absorb_changes`, from ``messages.absorb``), as it does a stub's statuses.
- **Naming an edit.** A deletion or edit may name an edit's wamid instead of the message's (an
  app echo deleting an edited message). The conversation remembers which message each edit
  changed (``fold.edits``, :func:`linked`; the store loads that message too, handlers.py), and
  :func:`changed_message` follows it. One that came before the edit waits in the edit's stub,
  which the edit hands to its message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from services.conversation_store.conversations import ensure_conversation, on_customer_activity
from services.conversation_store.documents import (
    Conversation,
    EditLink,
    Message,
    MessageVersion,
    Revoked,
    epoch_ms,
    message_id,
    ms,
)
from services.conversation_store.messages import absorb, by_wamid, new_stub, notice_kind
from services.conversation_store.thread import Step, Thread
from shared.events import InboundMessage, MessageEchoed, MessageReceived

DELETED_PREVIEW = "This message was deleted"
# How many edits a conversation remembers the targets of (the newest).
EDIT_LINKS = 200
CAPTIONED = frozenset({"image", "video", "document", "sticker"})


@dataclass(frozen=True, slots=True)
class MessageChange:
    """What an edit or deletion says: which message, and (an edit) its new version."""

    kind: Literal["edit", "revoke"]
    target: str | None
    at: datetime  # WhatsApp's time of the edit or deletion
    version: MessageVersion | None = None


def change_of(p: InboundMessage) -> MessageChange | None:
    """The edit or deletion this message is, or None when it is an ordinary message."""
    kind = notice_kind(p.message_type, p.content)
    if kind is None:
        return None
    content = p.content
    raw_target = content.get("original_message_id")
    target = (p.original_wamid or (raw_target if isinstance(raw_target, str) else None)
              or (p.context.message_id if p.context is not None else None))
    if kind == "delete":
        return MessageChange("revoke", target or None, ms(p.sent_at))
    new_type: str | None = p.edited_type
    new_content: Mapping[str, Any] = content
    inner = content.get("message")
    if new_type is None and isinstance(inner, Mapping):  # Meta's shape, not unwrapped
        kind_of = inner.get("type")
        new_type = kind_of if isinstance(kind_of, str) else None
        body = inner.get(new_type) if new_type else None
        new_content = body if isinstance(body, Mapping) else (
            {new_type: body} if new_type and body is not None else {})
    if not new_type or p.message_type == "unsupported":
        return MessageChange("edit", target or None, ms(p.sent_at))  # no new content known
    version = MessageVersion(wamid=p.wamid, at=ms(p.sent_at), message_type=new_type,
                             content=dict(new_content),
                             preview=version_preview(new_type, new_content, p.preview))
    return MessageChange("edit", target or None, version.at, version)


def version_preview(message_type: str, content: Mapping[str, Any], given: str) -> str:
    """The list's text for an edited version: its body or caption, else what ingest gave."""
    text = content.get("body") if message_type == "text" else (
        content.get("caption") if message_type in CAPTIONED else None)
    if isinstance(text, str) and text.strip():
        return text.strip()[:200]
    if given and not given.startswith(("[edit", "Unsupported")):
        return given
    return f"[{message_type}]"


def message_changed(event: MessageReceived | MessageEchoed, thread: Thread, step: Step,
                    change: MessageChange) -> Thread:
    """An edit or deletion, the customer's (MessageReceived) or the business app's (an echo)."""
    p = event.payload
    customer = isinstance(event, MessageReceived)
    conversation = ensure_conversation(thread, event, p.business_phone_number_id)
    messages = dict(thread.messages)
    if change.target:
        target = changed_message(messages, conversation, change.target) or new_stub(
            thread, change.target, conversation, "inbound" if customer else "outbound")
        updated = apply_change(target, change)
        if change.kind == "edit" and target.wamid is not None and p.wamid != target.wamid:
            conversation = linked(conversation, p.wamid, target.wamid, change.at)
            held = messages.get(message_id(thread.id, p.wamid))
            if held is not None and held.stub:
                # What named this edit before it came (its deletion, an edit of it) concerns
                # the message it changed.
                updated = absorb_changes(absorb(updated, held), held)
                del messages[held.id]
        if updated != messages.get(target.id):
            messages[target.id] = updated
            conversation = shown_last(conversation, updated)
    if step.fresh and customer:
        # Like a reaction, Meta delivers it as a customer message: customer activity (window,
        # name), but not a message of the thread (no unread, no list preview of its own).
        assert isinstance(event, MessageReceived)
        conversation = on_customer_activity(conversation, event)
    if messages == thread.messages and conversation == thread.conversation:
        return thread
    return replace(thread, conversation=conversation, messages=messages)


def changed_message(messages: Mapping[str, Message], conversation: Conversation,
                    wamid: str) -> Message | None:
    """The message a change naming ``wamid`` changes: when ``wamid`` is an edit's, the message
    that edit changed; else the message with that wamid."""
    target = next((e.target for e in conversation.fold.edits if e.wamid == wamid), None)
    return (by_wamid(messages, target) if target is not None else None) or by_wamid(
        messages, wamid)


def linked(conversation: Conversation, edit_wamid: str, target: str,
           at: datetime) -> Conversation:
    """The conversation remembering that edit ``edit_wamid`` changed message ``target`` (the
    newest edits by WhatsApp's time, so the same whatever order they came in)."""
    links = conversation.fold.edits
    if any(e.wamid == edit_wamid for e in links):
        return conversation
    kept = sorted([*links, EditLink(wamid=edit_wamid, target=target, at=at)],
                  key=lambda e: (e.at, e.wamid))[-EDIT_LINKS:]
    return conversation.model_copy(update={
        "fold": conversation.fold.model_copy(update={"edits": kept})})


def edited_targets(thread: Thread, named: Iterable[str]) -> set[str]:
    """The messages (wamids) that the edits among ``named`` changed, and ``thread`` lacks: what
    the store loads too (handlers.py) before folding a change that names an edit."""
    if thread.conversation is None or not thread.conversation.fold.edits:
        return set()
    targets = {e.wamid: e.target for e in thread.conversation.fold.edits}
    held = {m.wamid for m in thread.messages.values()}
    return {targets[w] for w in named if w in targets and targets[w] not in held}


def apply_change(message: Message, change: MessageChange) -> Message:
    if change.kind == "revoke":
        return revoked(message, change.at)
    if change.version is None:
        return message if message.edited else message.model_copy(update={"edited": True})
    return edited(message, change.version)


def edited(message: Message, version: MessageVersion) -> Message:
    """The message with one more version (an edit); the same version twice changes nothing."""
    full = unsealed(message)
    versions = _versions(full)
    if any(v.wamid == version.wamid for v in versions):
        return message
    return sealed(_rebuilt(full, [*versions, version]))


def revoked(message: Message, at: datetime | None) -> Message:
    """The message deleted: its content kept for audit only. The earliest report's time wins."""
    full = unsealed(message)
    when = full.deleted_at if at is None else (
        at if full.deleted_at is None else min(at, full.deleted_at))
    if full.deleted and when == full.deleted_at:
        return message
    return sealed(full.model_copy(update={"deleted": True, "deleted_at": when}))


def absorb_changes(message: Message, stub: Message) -> Message:
    """The message with the edits and the deletion its stub held (they came first)."""
    if not (stub.edited or stub.deleted or stub.edit_history or stub.revoked):
        return message
    full, held = unsealed(message), unsealed(stub)
    versions = _versions(full)
    known = {v.wamid for v in versions}
    versions += [v for v in held.edit_history if v.wamid not in known]
    full = _rebuilt(full, versions).model_copy(update={
        "edited": full.edited or held.edited or len(versions) > 1,
    })
    if held.deleted:
        full = unsealed(revoked(full, held.deleted_at))
    return sealed(full)


def original_version(message: Message) -> MessageVersion | None:
    """What the message itself said, before any edit (None for a stub)."""
    if message.stub:
        return None
    return next((v for v in _versions(unsealed(message)) if v.wamid == message.wamid), None)


def with_original(message: Message, version: MessageVersion) -> Message:
    """The message with ``version`` as what it said itself (a history media follow-up in place
    of its placeholder, placeholders.py); the edits made since still show over it, and a
    deleted message stays deleted."""
    full = unsealed(message)
    edits = [v for v in _versions(full) if v.wamid != message.wamid]
    return sealed(_rebuilt(full, [*edits, version]))


def shown_last(conversation: Conversation, message: Message) -> Conversation:
    """The list's preview follows an edit or a deletion of the conversation's last message."""
    if conversation.last_message_id != message.id or not message.visible:
        return conversation
    preview = message.preview[:200]
    if conversation.last_message_preview == preview:
        return conversation
    return conversation.model_copy(update={"last_message_preview": preview})


def unsealed(message: Message) -> Message:
    """A deleted message with its content back in place (for the rules, never stored)."""
    held = message.revoked
    if held is None:
        return message
    return message.model_copy(update={"content": held.content, "preview": held.preview,
                                      "edit_history": held.edit_history, "revoked": None})


def sealed(message: Message) -> Message:
    """A deleted message as stored: nothing an agent could read but that it was deleted."""
    if not message.deleted or message.revoked is not None:
        return message
    return message.model_copy(update={
        "revoked": Revoked(content=message.content, preview=message.preview,
                           edit_history=message.edit_history),
        "content": {}, "preview": DELETED_PREVIEW if not message.stub else "",
        "edit_history": [],
    })


def _key(version: MessageVersion, original: str | None) -> tuple[int, int, str]:
    edit = 0 if version.wamid == original else 1
    return epoch_ms(version.at), edit, version.wamid or ""


def _versions(message: Message) -> list[MessageVersion]:
    """Every version known: the history, and the shown one (a stub shows none)."""
    if message.stub:
        return list(message.edit_history)
    at = message.edited_at or message.sent_at
    if at is None:
        return list(message.edit_history)
    current = MessageVersion(wamid=message.fold.edit or message.wamid, at=at,
                             message_type=message.message_type, content=message.content,
                             preview=message.preview)
    return [*message.edit_history, current]


def _rebuilt(message: Message, versions: list[MessageVersion]) -> Message:
    """The message showing the newest of ``versions``, the rest as its history."""
    ordered = sorted(versions, key=lambda v: _key(v, message.wamid))
    if message.stub:
        return message.model_copy(update={"edit_history": ordered, "edited": True})
    newest = ordered[-1]
    is_edit = newest.wamid != message.wamid
    return message.model_copy(update={
        "message_type": newest.message_type, "content": newest.content,
        "preview": newest.preview, "edit_history": ordered[:-1],
        "edited": message.edited or is_edit or len(ordered) > 1,
        "edited_at": newest.at if is_edit else None,
        "fold": message.fold.model_copy(update={"edit": newest.wamid if is_edit else None}),
    })
