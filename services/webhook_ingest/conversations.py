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

A merge: when an event names a number and a BSUID that belong to two conversations (first seen
apart), the event goes to the number's conversation (the survivor) and a
:class:`~shared.events.ConversationMerged`, keyed by the BSUID's conversation, follows it. The
aliases are moved only once both are durable (``pending``, then :func:`apply_repoints`): a crash
before that leaves them as they were, and the next event naming both merges again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import NAMESPACE_URL, uuid5

from services.webhook_ingest.messages import previous_user_id
from services.webhook_ingest.ports import ContactResolver
from shared.channels import UNASSIGNED_TENANT
from shared.contacts import Resolution
from shared.events.base import Event
from shared.events.customer import AppContactSynced, CallUpdated, MarketingPreferenceChanged
from shared.events.inbound import MessageEchoed, MessageReceived, MessageStatusChanged
from shared.events.merges import ConversationMerged, Merge

_MERGE_NAMESPACE = uuid5(NAMESPACE_URL, "urn:whatsapp-inbox:conversation-merged")


@dataclass(frozen=True, slots=True)
class Repoint:
    """Aliases to move (and a merge to record) once the events are durable."""

    pnid: str
    tenant_id: str
    resolution: Resolution
    # The identifiers of the event that revealed it.
    wa_id: str | None = None
    user_id: str | None = None


async def resolve_conversations(events: Sequence[Event], directory: ContactResolver,
                                pending: list[Repoint] | None = None) -> list[Event]:
    """The events with each message's and status's conversation id from the directory, each
    followed by the :class:`ConversationMerged` it revealed. ``pending`` collects the alias moves
    to apply (:func:`apply_repoints`) once everything returned is durable."""
    out: list[Event] = []
    found: list[Repoint] = [] if pending is None else pending
    for event in events:
        if event.tenant_id == UNASSIGNED_TENANT:
            out.append(event)
            continue
        seen = len(found)
        if isinstance(event, MessageReceived):
            out.append(await _message(event, directory, found))
        elif isinstance(event, MessageStatusChanged):
            status = event.payload
            out.append(await _with_id(event, directory, found, status.business_phone_number_id,
                                      status.recipient_wa_id, status.recipient_user_id))
        elif isinstance(event, MessageEchoed):
            # A business message from the WhatsApp Business app: its customer is in from_*.
            echo = event.payload
            out.append(await _with_id(event, directory, found, echo.business_phone_number_id,
                                      echo.from_wa_id, echo.from_user_id))
        elif isinstance(event, MarketingPreferenceChanged | CallUpdated):
            about = event.payload
            out.append(await _with_id(event, directory, found, about.business_phone_number_id,
                                      about.wa_id, about.user_id))
        elif isinstance(event, AppContactSynced):
            entry = event.payload
            out.append(await _with_id(event, directory, found, entry.business_phone_number_id,
                                      entry.wa_id, None))
        else:
            out.append(event)
        out += [merged for repoint in found[seen:] for merged in merge_events(event, repoint)]
    return out


def merge_events(trigger: Event, repoint: Repoint) -> list[ConversationMerged]:
    """One ConversationMerged per conversation absorbed, keyed by it; its id is the merge's (the
    same merge found twice is the same event)."""
    r = repoint.resolution
    return [ConversationMerged(
        event_id=uuid5(_MERGE_NAMESPACE, f"{absorbed}>{r.conversation_id}"),
        occurred_at=trigger.occurred_at, tenant_id=repoint.tenant_id, conversation_id=absorbed,
        payload=Merge(survivor_conversation_id=r.conversation_id,
                      business_phone_number_id=repoint.pnid, wa_id=repoint.wa_id,
                      user_id=repoint.user_id),
    ) for absorbed in r.absorbed]


async def apply_repoints(directory: ContactResolver, pending: Sequence[Repoint]) -> None:
    """Move the aliases of merges now published (each idempotent: a conditional update)."""
    for repoint in pending:
        await directory.repoint(repoint.pnid, repoint.tenant_id, repoint.resolution)


async def _with_id(event: Event, directory: ContactResolver, found: list[Repoint], pnid: str,
                   wa_id: str | None, user_id: str | None) -> Event:
    conversation = directory.cached(pnid, wa_id, user_id)
    if conversation is None:
        resolution = await directory.route(pnid, event.tenant_id, wa_id, user_id)
        conversation = resolution.conversation_id
        if resolution.moves:
            found.append(Repoint(pnid, event.tenant_id, resolution, wa_id, user_id))
    if conversation == event.conversation_id:
        return event
    return event.model_copy(update={"conversation_id": conversation})


async def _message(event: MessageReceived, directory: ContactResolver,
                   found: list[Repoint]) -> Event:
    message = event.payload
    pnid = message.business_phone_number_id
    change = message.identity_change
    if change is None:
        return await _with_id(event, directory, found, pnid, message.from_wa_id,
                              message.from_user_id)
    # A number or BSUID change: the message belongs to the thread of the old identifiers.
    old_user_id = previous_user_id(message)
    if not message.from_wa_id and not old_user_id:
        # Nothing old to resolve by (should not happen): the new identifiers name the thread.
        return await _with_id(event, directory, found, pnid, change.new_wa_id,
                              change.new_user_id)
    resolved = await _with_id(event, directory, found, pnid, message.from_wa_id, old_user_id)
    assert resolved.conversation_id is not None
    if change.new_wa_id or change.new_user_id:
        # Conflicts (a new identifier already has its own thread) are logged and counted by the
        # directory; identity changes do not merge threads (docs/architecture.md).
        await directory.link(pnid, event.tenant_id, resolved.conversation_id,
                             change.new_wa_id, change.new_user_id)
    return resolved
