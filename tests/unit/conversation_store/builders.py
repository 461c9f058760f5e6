"""Events for the fold's tests, with explicit times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.events import (
    AssignConversation,
    CustomerProfile,
    IdentityChange,
    InboundMessage,
    MarkRead,
    MessageAccepted,
    MessageFailed,
    MessageOutcomeUnknown,
    MessageReceived,
    MessageRefused,
    MessageStatusChanged,
    MetaError,
    OutboundContent,
    ReplyContext,
    SetConversationStatus,
    StatusUpdate,
)

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
NUMBER_ID = "106540352242922"
CUSTOMER = "5511987654321"
CID = f"{NUMBER_ID}:{CUSTOMER}"
TENANT = "acme"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def received(wamid: str, t: float, *, text: str = "hi", name: str | None = "Ana",
             message_type: str = "text", content: dict[str, Any] | None = None,
             context: ReplyContext | None = None, arrived: float | None = None,
             from_wa_id: str = CUSTOMER) -> MessageReceived:
    return MessageReceived(
        occurred_at=at(arrived if arrived is not None else t + 1),
        tenant_id=TENANT,
        conversation_id=CID,
        payload=InboundMessage(
            wamid=wamid, message_type=message_type, sent_at=at(t),
            business_phone_number_id=NUMBER_ID, from_wa_id=from_wa_id,
            customer=CustomerProfile(wa_id=from_wa_id, name=name) if name else None,
            content=content if content is not None else {"body": text},
            preview=text if message_type == "text" else "",
            context=context,
        ),
    )


def reaction(wamid: str, target: str, emoji: str | None, t: float) -> MessageReceived:
    content: dict[str, Any] = {"message_id": target}
    if emoji is not None:
        content["emoji"] = emoji
    return received(wamid, t, message_type="reaction", content=content, name=None)


def status(wamid: str, value: str, t: float, *, error_code: int | None = None,
           arrived: float | None = None) -> MessageStatusChanged:
    return MessageStatusChanged(
        occurred_at=at(arrived if arrived is not None else t + 1),
        tenant_id=TENANT,
        conversation_id=CID,
        payload=StatusUpdate(
            wamid=wamid, status=value, at=at(t), business_phone_number_id=NUMBER_ID,
            recipient_wa_id=CUSTOMER,
            errors=[MetaError(code=error_code, title="Undeliverable")] if error_code else [],
        ),
    )


def _result_fields(command_id: str, t: float, actor: str | None, text: str) -> dict[str, Any]:
    return {
        "occurred_at": at(t), "tenant_id": TENANT, "conversation_id": CID,
        "command_id": command_id, "business_phone_number_id": NUMBER_ID,
        "customer_wa_id": CUSTOMER, "actor_id": actor,
        "content": OutboundContent(kind="text", text=text),
    }


def accepted(command_id: str, wamid: str, t: float, *, actor: str | None = "agent-1",
             text: str = "hello", content: OutboundContent | None = None) -> MessageAccepted:
    fields = _result_fields(command_id, t, actor, text)
    if content is not None:
        fields["content"] = content
    return MessageAccepted(**fields, wamid=wamid, accepted_at=at(t))


def refused(command_id: str, t: float) -> MessageRefused:
    return MessageRefused(**_result_fields(command_id, t, "agent-1", "late"),
                          reason="window_expired", detail="More than 24 hours",
                          hint="Send an approved template instead.")


def failed(command_id: str, t: float) -> MessageFailed:
    return MessageFailed(**_result_fields(command_id, t, "agent-1", "x"),
                         error=MetaError(code=131026, title="Message undeliverable"))


def unknown(command_id: str, t: float) -> MessageOutcomeUnknown:
    return MessageOutcomeUnknown(**_result_fields(command_id, t, "agent-1", "hello"),
                                 detail="crashed mid-call")


def mark_read(command_id: str, t: float, wamid: str | None = None) -> MarkRead:
    return MarkRead(occurred_at=at(t), tenant_id=TENANT, conversation_id=CID,
                    command_id=command_id, actor_id="agent-1",
                    business_phone_number_id=NUMBER_ID, message_wamid=wamid)


def assign(command_id: str, t: float, assignee: str | None) -> AssignConversation:
    return AssignConversation(occurred_at=at(t), tenant_id=TENANT, conversation_id=CID,
                              command_id=command_id, actor_id="lead", assignee_id=assignee)


def set_status(command_id: str, t: float, value: str) -> SetConversationStatus:
    return SetConversationStatus(occurred_at=at(t), tenant_id=TENANT, conversation_id=CID,
                                 command_id=command_id, actor_id="agent-1",
                                 status=value)


# --- customers Meta names by BSUID (hidden numbers, usernames, identity changes) -------------

BSUID = "US.13491208655302741918"
UCID = f"{NUMBER_ID}:{BSUID}"


def user_received(wamid: str, t: float, *, cid: str = UCID, wa_id: str | None = None,
                  user_id: str | None = BSUID, username: str | None = None,
                  name: str | None = None, parent: str | None = None,
                  text: str = "hi") -> MessageReceived:
    """A message from a customer named by BSUID (and by number only when Meta shares it)."""
    return MessageReceived(
        occurred_at=at(t + 1), tenant_id=TENANT, conversation_id=cid,
        payload=InboundMessage(
            wamid=wamid, message_type="text", sent_at=at(t), business_phone_number_id=NUMBER_ID,
            from_wa_id=wa_id, from_user_id=user_id,
            customer=CustomerProfile(wa_id=wa_id, name=name, user_id=user_id,
                                     parent_user_id=parent, username=username),
            content={"body": text}, preview=text,
        ),
    )


def identity_change(wamid: str, t: float, kind: str, *, cid: str = UCID,
                    old_wa_id: str | None = None, old_user_id: str | None = BSUID,
                    new_wa_id: str | None = None,
                    new_user_id: str | None = None) -> MessageReceived:
    """Meta's ``user_changed_number`` / ``user_changed_user_id`` system message."""
    body = (f"User changed from {old_wa_id} to {new_wa_id}" if kind == "number"
            else "User changed their account")
    return MessageReceived(
        occurred_at=at(t + 1), tenant_id=TENANT, conversation_id=cid,
        payload=InboundMessage(
            wamid=wamid, message_type="system", sent_at=at(t),
            business_phone_number_id=NUMBER_ID, from_wa_id=old_wa_id, from_user_id=old_user_id,
            content={"body": body, "type": f"user_changed_{kind}"}, preview=body,
            identity_change=IdentityChange.model_validate(
                {"kind": kind, "new_wa_id": new_wa_id, "new_user_id": new_user_id}),
        ),
    )


def user_status(wamid: str, value: str, t: float, *, cid: str = UCID, wa_id: str | None = None,
                user_id: str | None = BSUID,
                username: str | None = None) -> MessageStatusChanged:
    return MessageStatusChanged(
        occurred_at=at(t + 1), tenant_id=TENANT, conversation_id=cid,
        payload=StatusUpdate(
            wamid=wamid, status=value, at=at(t), business_phone_number_id=NUMBER_ID,
            recipient_wa_id=wa_id, recipient_user_id=user_id, recipient_username=username,
        ),
    )
