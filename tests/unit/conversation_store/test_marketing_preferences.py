"""Meta's ``user_preferences`` (the customer stopped or resumed marketing messages in WhatsApp)
folded like a STOP / START keyword: one opt_outs change per identifier, newest wins."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from services.conversation_store.opt_outs import changes_of, latest
from shared.events import (
    InboundMessage,
    MarketingPreference,
    MarketingPreferenceChanged,
    MessageReceived,
)

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
BSUID = "BR.13491208655302741918"


def preference(value: str, at: datetime = T0, wa_id: str | None = "+55 11 98765-4321",
               user_id: str | None = None) -> MarketingPreferenceChanged:
    return MarketingPreferenceChanged(
        occurred_at=at, tenant_id="acme", conversation_id="p:5511987654321",
        payload=MarketingPreference(business_phone_number_id="p", wa_id=wa_id, user_id=user_id,
                                    category="marketing_messages", value=value, at=at))


def keyword(text: str, at: datetime) -> MessageReceived:
    return MessageReceived(occurred_at=at, tenant_id="acme", payload=InboundMessage(
        wamid=f"w{at.timestamp()}", message_type="text", sent_at=at,
        business_phone_number_id="p", from_wa_id="5511987654321", content={"body": text}))


@pytest.mark.parametrize(("value", "opted_out"), [("stop", True), ("resume", False),
                                                  ("STOP", True), (" Resume ", False)])
def test_stop_and_resume(value: str, opted_out: bool) -> None:
    (change,) = changes_of(preference(value))
    assert (change.opted_out, change.source, change.keyword) == (opted_out, "meta_preference",
                                                                 None)
    assert change.doc_id == "acme:p:5511987654321"
    assert change.at == T0


def test_a_value_meta_adds_later_changes_nothing() -> None:
    assert changes_of(preference("pause")) == []


def test_a_hidden_number_opts_out_by_bsuid_and_both_write_both() -> None:
    (only,) = changes_of(preference("stop", wa_id=None, user_id=BSUID))
    assert only.doc_id == f"acme:p:{BSUID}"
    both = changes_of(preference("stop", user_id=BSUID))
    assert sorted(c.doc_id for c in both) == sorted(["acme:p:5511987654321", f"acme:p:{BSUID}"])


def test_a_malformed_identifier_is_skipped() -> None:
    assert changes_of(preference("stop", wa_id="12", user_id="not-a-bsuid")) == []


def test_newest_wins_with_keywords_in_any_order() -> None:
    events = [keyword("STOP", T0), preference("resume", T0 + timedelta(minutes=1)),
              preference("stop", T0 + timedelta(minutes=2)), keyword("START", T0 + timedelta(
                  minutes=3))]
    for order in itertools.permutations(events):
        changes = [c for e in order for c in changes_of(e)]
        [final] = latest(changes).values()
        assert (final.opted_out, final.source) == (False, "keyword")
    # Without the last START, Meta's stop is the newest choice.
    changes = [c for e in events[:3] for c in changes_of(e)]
    [final] = latest(changes).values()
    assert (final.opted_out, final.source) == (True, "meta_preference")
