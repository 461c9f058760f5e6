"""The WhatsApp Business app's address book (coexistence, ``smb_app_state_sync``; issue 15). Pure.

The name the business saved for a number is kept beside the customer's own profile name, not
over it: ``app_contact_name``. inbox_api shows it as the customer's name when they have no
profile name, and as "saved as ..." otherwise (docs/conversation_store.md). A ``remove`` clears
it. The latest sync by its time wins (on a tie, a name beats a removal, then the greater name),
so any order of the same syncs, duplicates included, gives the same value. The saved name's
words go into ``search_keys`` (identity.py), so the list search finds the customer by it.

A sync may name a number that never wrote: its conversation is created unlisted (listing.py),
and the name is there when the customer does write.
"""

from __future__ import annotations

from dataclasses import replace

from services.conversation_store.conversations import ensure_conversation
from services.conversation_store.documents import ms
from services.conversation_store.identity import refresh_search_keys
from services.conversation_store.thread import Step, Thread
from shared.events import AppContactSynced


def synced(event: AppContactSynced, thread: Thread, step: Step) -> Thread:
    p = event.payload
    conversation = ensure_conversation(thread, event, p.business_phone_number_id)
    at = ms(p.at)
    name = None
    if p.action.lower() != "remove":
        name = " ".join((p.full_name or p.first_name or "").split()) or None
    held = conversation.app_contact_name_at
    if held is not None and (at, name or "") <= (held, conversation.app_contact_name or ""):
        if conversation is thread.conversation:
            return thread
        return replace(thread, conversation=conversation)
    conversation = refresh_search_keys(conversation.model_copy(update={
        "app_contact_name": name, "app_contact_name_at": at}))
    return replace(thread, conversation=conversation)
