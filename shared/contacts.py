"""Who a customer is, when Meta may hide their phone number: the conversation id rule. Pure.

A customer is named by a phone number (``wa_id``), by a business-scoped user id (BSUID,
``US.13491208655302741918``), or by both; usernames are display only, never keys
(/work/shared/whatsapp-cloud-api.md section 12). A conversation id must stay the same for one
customer whichever of those an event carries, because it is the Kafka record key (one partition,
in order) and the conversations document's ``_id``.

- :func:`derived_conversation_id`: the id a new conversation gets: ``{pnid}:{canonical number}``
  when the number is known (the old scheme, so conversations keyed by a number keep their ids
  and need no migration), else ``{pnid}:{bsuid}``.
- The ``contact_aliases`` collection maps each identifier ever seen to the conversation it
  belongs to (:func:`number_alias`, :func:`user_alias`); :func:`resolve` picks the conversation
  from the aliases found (the number's, else the BSUID's, else the derived id) and says which
  aliases to write (insert-if-absent: the first writer wins) and which to move.
- The merge rule: when an event names a number and a BSUID whose aliases point at two different
  conversations (first seen apart), the number's conversation survives and the BSUID's is
  absorbed into it (:attr:`Resolution.absorbed`), so the survivor's id is the one the "both
  identifiers first" order gives (:func:`derived_conversation_id` prefers the number). A merge
  is recorded as one more alias, :func:`merged_alias` (absorbed -> survivor), which
  :func:`effective` follows: an alias left pointing at an absorbed conversation resolves to the
  survivor and is moved, never merged again.

The I/O (reads, the first-writer-wins inserts, the cache) is :mod:`shared.contact_directory`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from shared.phone import InvalidPhoneNumber, canonical_wa_id

CONTACT_ALIASES_COLLECTION = "contact_aliases"

_BSUID = re.compile(r"[A-Z]{2}\.[A-Za-z0-9]{1,128}")
_PARENT_BSUID = re.compile(r"[A-Z]{2}\.ENT\.[A-Za-z0-9]{1,128}")


def is_bsuid(value: object) -> bool:
    """True for a business-scoped user id: ``CC.`` and 1 to 128 letters or digits."""
    return isinstance(value, str) and _BSUID.fullmatch(value) is not None


def is_parent_bsuid(value: object) -> bool:
    """True for a parent BSUID (``CC.ENT.`` and letters or digits), which spans portfolios."""
    return isinstance(value, str) and _PARENT_BSUID.fullmatch(value) is not None


def canonical_number(wa_id: str) -> str:
    """The number as conversation ids spell it; a value that is not a number is kept as is
    (exactly as webhook_ingest always did, so existing ids do not change)."""
    try:
        return canonical_wa_id(wa_id)
    except InvalidPhoneNumber:
        return wa_id


def derived_conversation_id(pnid: str, wa_id: str | None, user_id: str | None) -> str:
    """The id of a conversation no alias names yet: by number when known, else by BSUID."""
    if wa_id:
        return f"{pnid}:{canonical_number(wa_id)}"
    if user_id:
        return f"{pnid}:{user_id}"
    raise ValueError("a customer needs a phone number or a BSUID")


def number_alias(pnid: str, wa_id: str) -> str:
    """The ``contact_aliases`` ``_id`` of a number on a business number."""
    return f"{pnid}|wa:{canonical_number(wa_id)}"


def user_alias(pnid: str, user_id: str) -> str:
    """The ``contact_aliases`` ``_id`` of a BSUID on a business number."""
    return f"{pnid}|uid:{user_id}"


def merged_alias(pnid: str, conversation_id: str) -> str:
    """The ``contact_aliases`` ``_id`` that records a merge: absorbed conversation -> survivor."""
    return f"{pnid}|merged:{conversation_id}"


MAX_MERGE_HOPS = 16


def effective(conversation_id: str, merged: Mapping[str, str]) -> str:
    """The conversation ``conversation_id`` ends in, following recorded merges (``merged``:
    absorbed conversation id -> survivor id); a cycle or an over-long chain stops where it is."""
    seen = {conversation_id}
    for _ in range(MAX_MERGE_HOPS):
        survivor = merged.get(conversation_id)
        if survivor is None or survivor in seen:
            break
        seen.add(survivor)
        conversation_id = survivor
    return conversation_id


def alias_ids(pnid: str, wa_id: str | None, user_id: str | None) -> list[str]:
    """The alias ids of an event's identifiers, the BSUID's first (the order they are written)."""
    out = []
    if user_id:
        out.append(user_alias(pnid, user_id))
    if wa_id:
        out.append(number_alias(pnid, wa_id))
    return out


@dataclass(frozen=True, slots=True)
class Resolution:
    """Where an event goes, and what the alias collection should learn from it."""

    conversation_id: str
    # Alias ids absent so far: to insert (if still absent) pointing at ``conversation_id``.
    missing: tuple[str, ...] = ()
    # Alias ids that point at another conversation: :func:`resolve` moves them to
    # ``conversation_id`` (``moves`` has where each points now); :func:`link` keeps them.
    conflicts: tuple[str, ...] = ()
    # Conversations to merge into ``conversation_id`` (resolve only; at most one).
    absorbed: tuple[str, ...] = ()
    # (alias id, the conversation it points at now) for each alias to move (resolve only).
    moves: tuple[tuple[str, str], ...] = ()


def resolve(
    pnid: str, wa_id: str | None, user_id: str | None, found: Mapping[str, str],
    merged: Mapping[str, str] | None = None,
) -> Resolution:
    """The conversation of an event, given the aliases found for its identifiers.

    Each alias found is followed through the recorded merges (``merged``: absorbed conversation
    -> survivor, see :func:`effective`). Then: 1. the number's conversation if any; 2. else the
    BSUID's if any; 3. else :func:`derived_conversation_id`. Every identifier of the event
    without an alias gets one to that conversation. When the number's and the BSUID's
    conversations differ, the BSUID's is absorbed by the number's (the merge), and every alias
    found pointing elsewhere than the answer is to be moved to it.
    """
    follow = merged or {}
    uid = user_alias(pnid, user_id) if user_id else None
    num = number_alias(pnid, wa_id) if wa_id else None
    at_uid = effective(found[uid], follow) if uid is not None and uid in found else None
    at_num = effective(found[num], follow) if num is not None and num in found else None
    chosen = at_num or at_uid or derived_conversation_id(pnid, wa_id, user_id)
    absorbed = (at_uid,) if at_uid is not None and at_num is not None and at_uid != at_num \
        else ()
    missing: list[str] = []
    moves: list[tuple[str, str]] = []
    for alias in (uid, num):
        if alias is None:
            continue
        if alias not in found:
            missing.append(alias)
        elif found[alias] != chosen:
            moves.append((alias, found[alias]))
    return Resolution(chosen, tuple(missing), tuple(a for a, _ in moves), absorbed,
                      tuple(moves))


def link(
    pnid: str, conversation_id: str, wa_id: str | None, user_id: str | None,
    found: Mapping[str, str],
) -> Resolution:
    """Attach new identifiers (a number or BSUID change) to an existing conversation.

    The same first-writer-wins rule: absent aliases are to be written, aliases already pointing
    at another conversation are conflicts and stay as they are.
    """
    missing: list[str] = []
    conflicts: list[str] = []
    for alias in alias_ids(pnid, wa_id, user_id):
        if alias not in found:
            missing.append(alias)
        elif found[alias] != conversation_id:
            conflicts.append(alias)
    return Resolution(conversation_id, tuple(missing), tuple(conflicts))
