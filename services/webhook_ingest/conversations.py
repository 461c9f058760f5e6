"""Give each message and status its conversation id through the contact directory.

:func:`normalize` is pure and sets the *derived* id (``{pnid}:{number}``, else
``{pnid}:{bsuid}``); this step replaces it with the directory's answer, so a customer keeps one
conversation (and one Kafka key) whether an event names them by number, by BSUID or by both.
The steady state is answered from the directory's cache with no I/O and no await; only an event
with an identifier the process has not seen yet goes to MongoDB.

Identity changes (``system`` messages ``user_changed_number`` / ``user_changed_user_id``) resolve
by the customer's old identifiers, and the new ones are then aliased to the same conversation, so
later messages from the new number or BSUID land in the same thread.

Events of an unassigned business number (no channel yet) keep their derived id and write no alias:
an unknown number's traffic must not fill the directory.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.webhook_ingest.messages import previous_user_id
from services.webhook_ingest.ports import ContactResolver
from shared.channels import UNASSIGNED_TENANT
from shared.events.base import Event
from shared.events.inbound import MessageReceived, MessageStatusChanged


async def resolve_conversations(events: Sequence[Event], directory: ContactResolver
                                ) -> list[Event]:
    """The events with each message's and status's conversation id from the directory."""
    out: list[Event] = []
    for event in events:
        if event.tenant_id == UNASSIGNED_TENANT:
            out.append(event)
            continue
        if isinstance(event, MessageReceived):
            out.append(await _message(event, directory))
        elif isinstance(event, MessageStatusChanged):
            status = event.payload
            out.append(await _with_id(event, directory, status.business_phone_number_id,
                                      status.recipient_wa_id, status.recipient_user_id))
        else:
            out.append(event)
    return out


async def _with_id(event: Event, directory: ContactResolver, pnid: str,
                   wa_id: str | None, user_id: str | None) -> Event:
    conversation = directory.cached(pnid, wa_id, user_id)
    if conversation is None:
        conversation = await directory.resolve(pnid, event.tenant_id, wa_id, user_id)
    if conversation == event.conversation_id:
        return event
    return event.model_copy(update={"conversation_id": conversation})


async def _message(event: MessageReceived, directory: ContactResolver) -> Event:
    message = event.payload
    pnid = message.business_phone_number_id
    change = message.identity_change
    if change is None:
        return await _with_id(event, directory, pnid, message.from_wa_id, message.from_user_id)
    # A number or BSUID change: the message belongs to the thread of the old identifiers.
    old_user_id = previous_user_id(message)
    if not message.from_wa_id and not old_user_id:
        # Nothing old to resolve by (should not happen): the new identifiers name the thread.
        return await _with_id(event, directory, pnid, change.new_wa_id, change.new_user_id)
    resolved = await _with_id(event, directory, pnid, message.from_wa_id, old_user_id)
    assert resolved.conversation_id is not None
    if change.new_wa_id or change.new_user_id:
        # Conflicts (a new identifier already has its own thread) are logged and counted by the
        # directory; the threads are not merged (docs/architecture.md).
        await directory.link(pnid, event.tenant_id, resolved.conversation_id,
                             change.new_wa_id, change.new_user_id)
    return resolved
