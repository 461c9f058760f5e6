from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.conversation_store.opt_outs import change_of, keyword_choice, latest
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


def received(text: str, at: datetime = T0) -> MessageReceived:
    return MessageReceived(occurred_at=at, tenant_id="acme", payload=InboundMessage(
        wamid="w", message_type="text", sent_at=at, business_phone_number_id="p",
        from_wa_id="5511987654321", content={"body": text}))


def test_a_stop_message_is_an_opt_out_of_the_canonical_number() -> None:
    change = change_of(received("STOP"))
    assert change is not None
    assert change.opted_out
    assert change.doc_id == "acme:p:5511987654321"


def test_meta_131050_on_a_failed_status_opts_out() -> None:
    event = MessageStatusChanged(occurred_at=T0, tenant_id="acme", payload=StatusUpdate(
        wamid="w", status="failed", at=T0, business_phone_number_id="p",
        recipient_wa_id="5511987654321", errors=[MetaError(code=131050)]))
    change = change_of(event)
    assert change is not None
    assert change.source == "meta_131050"


def test_the_newest_choice_wins() -> None:
    changes = [c for c in (change_of(received("START", T0 + timedelta(seconds=5))),
                           change_of(received("STOP", T0))) if c is not None]
    assert [c.opted_out for c in latest(changes).values()] == [False]
