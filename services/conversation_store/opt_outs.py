"""Opt-outs: a customer's stop (or start) keyword, Meta's 131050, and the marketing preference
the customer set in WhatsApp (``user_preferences`` stop / resume), folded into `opt_outs`.

The matcher is pure: a message opts out only when it is nothing but a stop keyword (after
trimming, case-folding, removing accents and trailing punctuation), so "stop sending me the wrong
size" stays a conversation. The newest event per customer wins (by its WhatsApp time), so STOP
then START ends opted in whatever order they are delivered in. docs/campaigns.md.

This module is the pure part; adapters/mongo_opt_outs.py writes the changes (step 3 of
pipeline.py).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.campaigns import opt_out_id
from shared.contacts import is_bsuid
from shared.events import (
    MarketingPreferenceChanged,
    MessageFailed,
    MessageReceived,
    MessageStatusChanged,
)
from shared.events.base import Event
from shared.phone import InvalidPhoneNumber, canonical_wa_id

OPTED_OUT_CODE = 131050  # Meta: the recipient chose to stop receiving marketing messages
# Meta's ``user_preferences`` values (the customer stopped or resumed marketing messages in
# WhatsApp itself): honoured like a STOP / START keyword, source "meta_preference".
PREFERENCE_VALUES = {"stop": True, "resume": False}

STOP_KEYWORDS = frozenset({
    "stop", "stop all", "stopall", "unsubscribe", "cancel", "end", "quit", "opt out", "optout",
    "parar", "basta", "cancelar", "sair", "descadastrar", "baja", "darme de baja",
    "arret", "arreter", "stopper", "desabonner", "desinscrire",
    "stopp", "abmelden", "abbestellen", "disiscrivimi", "cancellami",
})
START_KEYWORDS = frozenset({
    "start", "unstop", "subscribe", "comecar", "iniciar", "alta", "reprendre", "anmelden",
    "iscrivimi",
})


def _normal(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.strip().rstrip(".!?¡¿ ").lstrip("¡¿ ").split())


def keyword_choice(text: str) -> bool | None:
    """True: opt out; False: opt back in; None: an ordinary message."""
    normal = _normal(text)
    if normal in STOP_KEYWORDS:
        return True
    if normal in START_KEYWORDS:
        return False
    return None


@dataclass(frozen=True, slots=True)
class OptOutChange:
    tenant_id: str
    business_phone_number_id: str
    # The customer's key (shared.campaigns.customer_key): a canonical number or a BSUID.
    customer_wa_id: str
    opted_out: bool
    source: str
    keyword: str | None
    at: datetime

    @property
    def doc_id(self) -> str:
        return opt_out_id(self.tenant_id, self.business_phone_number_id, self.customer_wa_id)


def _text_of(content: dict[str, Any], message_type: str) -> str | None:
    if message_type == "text":
        body = content.get("body")
        return body if isinstance(body, str) else None
    if message_type == "button":  # a template's quick-reply button ("Stop promotions")
        text = content.get("text") or content.get("payload")
        return text if isinstance(text, str) else None
    return None


def changes_of(event: Event) -> list[OptOutChange]:
    """The opt-out changes an event makes: one per identifier of the customer it knows (the
    canonical number, the BSUID), because a later send may know the customer by either (the
    sender looks up :func:`shared.campaigns.customer_key`: the number, else the BSUID). Pure."""
    if isinstance(event, MessageReceived):
        p = event.payload
        text = _text_of(p.content, p.message_type)
        choice = None if text is None else keyword_choice(text)
        if choice is None:
            return []
        return _per_customer_key(event.tenant_id, p.business_phone_number_id, p.from_wa_id,
                                 p.from_user_id, choice, "keyword", _normal(text or ""),
                                 p.sent_at)
    if isinstance(event, MessageStatusChanged):
        s = event.payload
        if s.status == "failed" and any(e.code == OPTED_OUT_CODE for e in s.errors):
            return _per_customer_key(event.tenant_id, s.business_phone_number_id,
                                     s.recipient_wa_id, s.recipient_user_id, True,
                                     "meta_131050", None, s.at)
    if isinstance(event, MarketingPreferenceChanged):
        m = event.payload
        value = m.value.strip().lower()
        if value not in PREFERENCE_VALUES:
            return []  # a value Meta adds later: not a choice we can read
        return _per_customer_key(event.tenant_id, m.business_phone_number_id, m.wa_id,
                                 m.user_id, PREFERENCE_VALUES[value], "meta_preference", None,
                                 m.at)
    if isinstance(event, MessageFailed) and event.error.code == OPTED_OUT_CODE:
        return _per_customer_key(event.tenant_id, event.business_phone_number_id,
                                 event.customer_wa_id, event.customer_user_id, True,
                                 "meta_131050", None, event.occurred_at)
    return []


def _per_customer_key(tenant_id: str, number_id: str, wa_id: str | None, user_id: str | None,
                      opted_out: bool, source: str, keyword: str | None,
                      at: datetime) -> list[OptOutChange]:
    keys = []
    if wa_id:
        try:
            keys.append(canonical_wa_id(wa_id))
        except InvalidPhoneNumber:
            pass
    if user_id and is_bsuid(user_id):
        keys.append(user_id)
    return [OptOutChange(tenant_id, number_id, key, opted_out, source, keyword, at)
            for key in keys]


def latest(changes: Sequence[OptOutChange]) -> dict[str, OptOutChange]:
    """The newest change per customer (a later one in the batch wins a tie)."""
    out: dict[str, OptOutChange] = {}
    for change in changes:
        held = out.get(change.doc_id)
        if held is None or change.at >= held.at:
            out[change.doc_id] = change
    return out
