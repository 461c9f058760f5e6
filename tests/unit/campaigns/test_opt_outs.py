from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.conversation_store.opt_outs import changes_of, keyword_choice, latest
from shared.events import InboundMessage, MessageReceived, MessageStatusChanged, MetaError
from shared.events.inbound import StatusUpdate

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["STOP", "stop", " Stop! ", "UNSUBSCRIBE", "Arrêt", "parar",
                                  "Abmelden.", "opt   out"])
def test_stop_keywords_opt_out(text: str) -> None:
    assert keyword_choice(text) is True


@pytest.mark.parametrize("text", ["START", "unstop", "Iniciar"])
def test_start_keywords_opt_back_in(text: str) -> None:
    assert keyword_choice(text) is False


@pytest.mark.parametrize("text", ["stop sending me the wrong size", "Hi", "can I stop by?", ""])
def test_ordinary_messages_do_not_match(text: str) -> None:
    assert keyword_choice(text) is None


BSUID = "BR.13491208655302741918"


def received(text: str, at: datetime = T0, wa_id: str | None = "5511987654321",
             user_id: str | None = None) -> MessageReceived:
    return MessageReceived(occurred_at=at, tenant_id="acme", payload=InboundMessage(
        wamid="w", message_type="text", sent_at=at, business_phone_number_id="p",
        from_wa_id=wa_id, from_user_id=user_id, content={"body": text}))


def test_a_stop_message_is_an_opt_out_of_the_canonical_number() -> None:
    (change,) = changes_of(received("STOP", wa_id="+55 11 98765-4321"))
    assert change.opted_out
    assert change.doc_id == "acme:p:5511987654321"


def test_a_customer_with_a_hidden_number_opts_out_by_bsuid() -> None:
    (change,) = changes_of(received("STOP", wa_id=None, user_id=BSUID))
    assert change.doc_id == f"acme:p:{BSUID}"


def test_a_stop_with_both_identifiers_opts_out_under_each() -> None:
    # A later send may know the customer by either (shared.campaigns.customer_key).
    changes = changes_of(received("STOP", user_id=BSUID))
    assert sorted(c.doc_id for c in changes) == sorted(
        ["acme:p:5511987654321", f"acme:p:{BSUID}"])
    assert all(c.opted_out for c in changes)


def test_an_ordinary_message_or_a_malformed_identifier_changes_nothing() -> None:
    assert changes_of(received("Hello", user_id=BSUID)) == []
    assert changes_of(received("STOP", wa_id="12", user_id="not a bsuid")) == []


def test_meta_131050_on_a_failed_status_opts_out() -> None:
    event = MessageStatusChanged(occurred_at=T0, tenant_id="acme", payload=StatusUpdate(
        wamid="w", status="failed", at=T0, business_phone_number_id="p",
        recipient_wa_id="5511987654321", errors=[MetaError(code=131050)]))
    (change,) = changes_of(event)
    assert change.source == "meta_131050"


def test_the_newest_choice_wins() -> None:
    changes = [*changes_of(received("START", T0 + timedelta(seconds=5))),
               *changes_of(received("STOP", T0))]
    assert [c.opted_out for c in latest(changes).values()] == [False]
