"""Who the customer of a conversation is: number, BSUID, parent BSUID, username. Pure.

Meta may hide a customer's number (/work/shared/whatsapp-cloud-api.md §12): an event names the
customer by a phone number, a business-scoped user id (BSUID), or both, and may carry a username
(display only). The conversation keeps the current value of each and every number and BSUID
seen (for search). Like the other fold rules these are maxima, so the same events in any order,
duplicates included, give the same document:

- each current value carries a clock ``{WhatsApp time}.{rank}.{value}`` in
  ``fold.identity``; a value replaces the current one only with a greater clock. An identity
  change (``user_changed_number`` / ``user_changed_user_id``) has rank 1, so it wins over an
  ordinary message of the same second;
- ``customer_wa_id`` starts as the number in the conversation id (no clock), or None for a
  conversation keyed by a BSUID. Ordinary messages and statuses fill it only in the second case
  (a conversation keyed by a number keeps that spelling: the sender's ``to``); an identity change
  sets it in both;
- the lists (``customer_wa_ids``, ``customer_user_ids``) only grow.
"""

from __future__ import annotations

from datetime import datetime

from services.conversation_store.documents import Conversation, epoch_ms
from shared.contacts import canonical_number, is_bsuid
from shared.phone import InvalidPhoneNumber, digits_of

ORDINARY = 0
IDENTITY_CHANGE = 1


def keyed_by_user_id(conversation_id: str) -> bool:
    """A conversation whose id names a BSUID, not a number (the number was hidden)."""
    return is_bsuid(conversation_id.partition(":")[2])


def learn(
    conversation: Conversation,
    at: datetime,
    *,
    wa_id: str | None = None,
    user_id: str | None = None,
    parent_user_id: str | None = None,
    username: str | None = None,
    rank: int = ORDINARY,
) -> Conversation:
    """What one event says about the customer, as of ``at`` (WhatsApp's time)."""
    updates: dict[str, object] = {}
    clocks = dict(conversation.fold.identity)
    number = _number(wa_id)
    if number is not None and (rank == IDENTITY_CHANGE or keyed_by_user_id(conversation.id)):
        _newest(updates, clocks, "customer_wa_id", canonical_number(number), at, rank)
    if user_id:
        _newest(updates, clocks, "customer_user_id", user_id, at, rank)
    if parent_user_id:
        _newest(updates, clocks, "customer_parent_user_id", parent_user_id, at, rank)
    if username and username.strip():
        _newest(updates, clocks, "customer_username", username.strip().lstrip("@"), at, rank)
    if clocks != conversation.fold.identity:
        conversation = conversation.model_copy(update={
            **updates, "fold": conversation.fold.model_copy(update={"identity": clocks})})
    return refresh_search_keys(remember(conversation, wa_id=wa_id, user_id=user_id))


_CURRENT = ("customer_wa_id", "customer_user_id", "customer_parent_user_id", "customer_username")


def adopt(conversation: Conversation, other: Conversation) -> Conversation:
    """Take in what another conversation of the same customer knows (a merge, merge.py): per
    current value the one with the greater clock, by the rules :func:`learn` applies to events
    (an ordinary number does not replace a number-keyed conversation's), a value without a clock
    only where there is none, and every number and BSUID seen. A maximum: any order, twice."""
    clocks = dict(conversation.fold.identity)
    updates: dict[str, object] = {}
    by_user = keyed_by_user_id(conversation.id)
    for name, clock in sorted(other.fold.identity.items()):
        if name not in _CURRENT or getattr(other, name) is None:
            continue
        if name == "customer_wa_id" and not by_user and _rank(clock) != IDENTITY_CHANGE:
            continue
        held = clocks.get(name)
        if held is None or clock > held:
            clocks[name] = clock
            updates[name] = getattr(other, name)
    for name in _CURRENT:
        if name == "customer_wa_id" and not by_user:
            continue
        value = getattr(other, name)
        if value is not None and name not in clocks and getattr(conversation, name) is None:
            updates[name] = value
    if updates or clocks != conversation.fold.identity:
        conversation = conversation.model_copy(update={
            **updates, "fold": conversation.fold.model_copy(update={"identity": clocks})})
    for number in other.customer_wa_ids:
        conversation = remember(conversation, wa_id=number)
    for user_id in other.customer_user_ids:
        conversation = remember(conversation, user_id=user_id)
    return refresh_search_keys(conversation)


def _rank(clock: str) -> int:
    parts = clock.split(".", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else ORDINARY


def remember(
    conversation: Conversation, *, wa_id: str | None = None, user_id: str | None = None
) -> Conversation:
    """Add a number spelling or a BSUID to the ones seen (search finds the customer by any)."""
    numbers = conversation.customer_wa_ids
    if wa_id and wa_id not in numbers:
        number = _number(wa_id)
        if number is not None and number not in numbers:
            numbers = [*numbers, number]
    user_ids = conversation.customer_user_ids
    if user_id and user_id not in user_ids:
        user_ids = [*user_ids, user_id]
    if numbers is conversation.customer_wa_ids and user_ids is conversation.customer_user_ids:
        return conversation
    return refresh_search_keys(conversation.model_copy(
        update={"customer_wa_ids": numbers, "customer_user_ids": user_ids}))


def refresh_search_keys(conversation: Conversation) -> Conversation:
    keys = _keys(conversation)
    if keys == conversation.search_keys:
        return conversation
    return conversation.model_copy(update={"search_keys": keys})


def search_keys(name: str | None, numbers: list[str], username: str | None = None,
                user_ids: list[str] | None = None) -> list[str]:
    """Lowercased name from each word on ("ana maria" -> "ana maria", "maria"), the numbers,
    the username and the BSUIDs, so an anchored prefix match finds a contact by any of them."""
    keys: list[str] = []
    words = (name or "").lower().split()
    for i in range(len(words)):
        key = " ".join(words[i:])
        if key not in keys:
            keys.append(key)
    extra = [*numbers, *([username.lower()] if username else []),
             *(u.lower() for u in user_ids or [])]
    for key in extra:
        if key not in keys:
            keys.append(key)
    return keys


def _keys(conversation: Conversation) -> list[str]:
    keys = search_keys(conversation.contact_name, conversation.customer_wa_ids,
                       conversation.customer_username, conversation.customer_user_ids)
    # The name the business app saved (app_contacts.py) finds the customer too.
    return keys + [k for k in search_keys(conversation.app_contact_name, []) if k not in keys]


def _newest(updates: dict[str, object], clocks: dict[str, str], field: str, value: str,
            at: datetime, rank: int) -> None:
    """The value with the greatest clock wins; the clock is kept even when the value is the
    same, so a later event with an older clock cannot take its place."""
    clock = f"{epoch_ms(at):014d}.{rank}.{value}"
    held = clocks.get(field)
    if held is not None and clock <= held:
        return
    clocks[field] = clock
    updates[field] = value


def _number(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        return digits_of(raw)
    except InvalidPhoneNumber:
        return None
