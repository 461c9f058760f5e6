"""The account-health fold (step 4 of the store's pipeline): Meta's account notices and number
quality into ``account_health``, the newest per (account or number, kind), in any order."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.conversation_store.account_health import bson_safe, changes_of, kind_of, latest
from services.conversation_store.adapters.mongo_account_health import AccountHealthFold
from shared.account_health import ACCOUNT_HEALTH_COLLECTION, Notice
from shared.account_policy import Initiator, refusal
from shared.consumer import Received
from shared.events import (
    AccountNotice,
    AccountNoticeReceived,
    InboundMessage,
    MessageReceived,
    PhoneNumberQuality,
    PhoneNumberQualityChanged,
)
from shared.events.base import Event

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
EXPIRES = "2026-12-12T14:00:00+0000"


def account_notice(event: str = "ACCOUNT_RESTRICTION", *, seconds: float = 0,
                   field: str = "account_update", restrictions: list[dict[str, Any]] | None = None,
                   number: str | None = None, details: dict[str, Any] | None = None,
                   severity: str | None = None, status: str | None = None,
                   tenant: str = "acme") -> AccountNoticeReceived:
    at = T0 + timedelta(seconds=seconds)
    return AccountNoticeReceived(
        occurred_at=at, tenant_id=tenant,
        payload=AccountNotice(waba_id="waba-1", field=field, event=event,
                              business_phone_number_id=number, severity=severity,
                              status=status, restrictions=restrictions or [], at=at,
                              details=details or {}))


def biz_restriction(seconds: float = 0, expiration: str | None = EXPIRES
                    ) -> AccountNoticeReceived:
    return account_notice(seconds=seconds, restrictions=[
        {"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": expiration}])


def quality(event: str, seconds: float = 0) -> PhoneNumberQualityChanged:
    return PhoneNumberQualityChanged(
        occurred_at=T0 + timedelta(seconds=seconds), tenant_id="acme",
        payload=PhoneNumberQuality(waba_id="waba-1", display_phone_number="15550007171",
                                   event=event, current_limit="TIER_1K",
                                   extra={"old_limit": "TIER_250"}))


@pytest.mark.parametrize(("field", "event", "restricted", "kind"), [
    ("account_update", "ACCOUNT_RESTRICTION", True, "restriction"),
    ("account_update", "ACCOUNT_RESTRICTION", False, "restriction"),
    ("account_update", "SOMETHING_NEW", True, "restriction"),
    ("account_update", "DISABLED_UPDATE", False, "ban"),
    ("account_update", "ACCOUNT_BANNED", False, "ban"),
    ("account_update", "ACCOUNT_REINSTATED", False, "ban"),
    ("account_update", "ACCOUNT_VIOLATION", False, "violation"),
    ("account_update", "VERIFIED_ACCOUNT", False, "update:VERIFIED_ACCOUNT"),
    ("account_alerts", "OBA_APPROVED", False, "alert:OBA_APPROVED"),
    ("business_capability_update", "CAPABILITY_UPDATE", False, "capability"),
    ("something_else", "X", False, "something_else:X"),
])
def test_which_notices_replace_each_other(field: str, event: str, restricted: bool,
                                          kind: str) -> None:
    assert kind_of(field, event, restricted) == kind


def test_a_restriction_is_stored_with_its_expiration_as_a_time() -> None:
    [change] = changes_of(biz_restriction())
    assert change.doc_id == "acme:waba-1:account:restriction"
    assert change.fields["restrictions"] == [
        {"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING",
         "expiration": datetime(2026, 12, 12, 14, 0, tzinfo=UTC)}]
    assert change.at == T0


def test_a_numbers_alert_is_scoped_to_the_number() -> None:
    [change] = changes_of(account_notice("OBA_REJECTED", field="account_alerts",
                                         number="100000000000071", severity="CRITICAL",
                                         status="ACTIVE"))
    assert change.doc_id == "acme:waba-1:number:100000000000071:alert:OBA_REJECTED"
    assert change.fields["severity"] == "CRITICAL"


def test_a_quality_change_is_scoped_to_the_display_number() -> None:
    [change] = changes_of(quality("FLAGGED"))
    assert change.doc_id == "acme:waba-1:display:15550007171:quality"
    assert change.fields["details"] == {"old_limit": "TIER_250", "current_limit": "TIER_1K"}
    assert change.fields["at"] == T0


def test_other_events_store_nothing() -> None:
    message = MessageReceived(occurred_at=T0, tenant_id="acme", payload=InboundMessage(
        wamid="w", message_type="text", sent_at=T0, business_phone_number_id="p",
        from_wa_id="5511987654321", content={"body": "hi"}))
    assert changes_of(message) == []


def test_the_newest_per_document_wins_in_a_batch_a_tie_to_the_later() -> None:
    first, second = changes_of(biz_restriction(0))[0], changes_of(biz_restriction(0, None))[0]
    assert latest([first, second])[first.doc_id] is second
    newer = changes_of(biz_restriction(5))[0]
    assert latest([newer, first])[first.doc_id] is newer


def test_arrays_inside_arrays_are_kept_as_text() -> None:
    assert bson_safe({"a": [[1, 2], 3], "b": {"c": [["x"]]}}) == {
        "a": ["[1,2]", 3], "b": {"c": ['["x"]']}}


# -- the fold over a fake collection ----------------------------------------------------------


class FakeNotices:
    """find_one / insert_one / update_one over a dict, as the fold uses them."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.writes = 0

    async def find_one(self, query: dict[str, Any], projection: Any = None) -> Any:
        return self.docs.get(query["_id"])

    async def insert_one(self, doc: dict[str, Any]) -> None:
        assert doc["_id"] not in self.docs
        self.docs[doc["_id"]] = dict(doc)
        self.writes += 1

    async def update_one(self, query: dict[str, Any], update: dict[str, Any]) -> Any:
        doc = self.docs.get(query["_id"])
        matched = doc is not None and doc.get("at") == query["at"]
        if matched:
            assert doc is not None
            doc.update(update["$set"])
            self.writes += 1

        class Result:
            matched_count = 1 if matched else 0
        return Result()


class FakeDatabase:
    def __init__(self) -> None:
        self.notices = FakeNotices()

    def __getitem__(self, name: str) -> FakeNotices:
        assert name == ACCOUNT_HEALTH_COLLECTION
        return self.notices


def batch(*events: Event) -> list[Received[Event]]:
    return [Received(e, "whatsapp.inbound.v1", 0, i, b"acme", b"") for i, e in enumerate(events)]


async def fold(db: FakeDatabase, *events: Event) -> None:
    await AccountHealthFold(db, lambda: T0)(batch(*events))  # type: ignore[arg-type]


async def test_a_restriction_then_its_lifting_in_any_order_ends_lifted() -> None:
    lifted = account_notice(seconds=60, restrictions=[])
    for order in itertools.permutations([biz_restriction(), lifted, biz_restriction()]):
        db = FakeDatabase()
        for event in order:
            await fold(db, event)
        [doc] = db.notices.docs.values()
        assert doc["restrictions"] == []
        assert doc["at"] == lifted.payload.at


async def test_a_replay_writes_nothing_new() -> None:
    db = FakeDatabase()
    await fold(db, biz_restriction(), quality("FLAGGED"))
    before = {k: dict(v) for k, v in db.notices.docs.items()}
    await fold(db, quality("FLAGGED"), biz_restriction())
    assert db.notices.docs == before


async def test_a_late_older_notice_changes_nothing() -> None:
    db = FakeDatabase()
    await fold(db, quality("UNFLAGGED", seconds=10))
    await fold(db, quality("FLAGGED", seconds=0))
    [doc] = db.notices.docs.values()
    assert doc["event"] == "UNFLAGGED"


async def test_a_reinstatement_ends_the_ban_for_the_sender() -> None:
    db = FakeDatabase()
    disabled = account_notice("DISABLED_UPDATE",
                              details={"ban_info": {"waba_ban_state": ["DISABLE"]}})
    reinstated = account_notice("DISABLED_UPDATE", seconds=30,
                                details={"ban_info": {"waba_ban_state": ["REINSTATE"]}})
    await fold(db, disabled)

    def refused() -> object:
        notices = [Notice.from_document(d) for d in db.notices.docs.values()]
        return refusal(notices, phone_number_id="p", initiator=Initiator.CUSTOMER,
                       now=T0 + timedelta(minutes=5))

    assert refused() is not None
    await fold(db, reinstated)
    assert refused() is None


async def test_tenants_and_kinds_are_separate_documents() -> None:
    db = FakeDatabase()
    await fold(db, biz_restriction(), account_notice("ACCOUNT_VIOLATION"),
               account_notice(tenant="globex"), quality("FLAGGED"))
    assert sorted(db.notices.docs) == [
        "acme:waba-1:account:restriction", "acme:waba-1:account:violation",
        "acme:waba-1:display:15550007171:quality", "globex:waba-1:account:restriction"]
