"""Meta's account notices: what the banner says (shared/account_banners.py), which sends are
refused (shared/account_policy.py), and how a stored notice is read (shared/account_health.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.account_banners import SHOWN_FOR, Blocks, banners
from shared.account_health import (
    ACCOUNT,
    BAN,
    CAPABILITY,
    QUALITY,
    RESTRICTION,
    VIOLATION,
    Notice,
    Restriction,
    display_scope,
    meta_time,
    notice_id,
    number_scope,
    refusing_ids,
)
from shared.account_policy import (
    ADD_PHONE_NUMBER,
    BIZ_INITIATED,
    CUSTOMER_INITIATED,
    Initiator,
    needs_initiator,
    refusal,
    when,
)
from shared.window import RefusalReason

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LATER = datetime(2026, 12, 12, 14, 0, tzinfo=UTC)
NUMBER = "100000000000071"
OTHER_NUMBER = "100000000000099"


def notice(kind: str, *, event: str = "ACCOUNT_RESTRICTION", scope: str = ACCOUNT,
           restrictions: tuple[Restriction, ...] = (), at: datetime = NOW - timedelta(hours=1),
           details: dict[str, Any] | None = None, severity: str | None = None,
           status: str | None = None, description: str | None = None,
           field: str = "account_update", display: str | None = None,
           number: str | None = None) -> Notice:
    return Notice(tenant_id="acme", waba_id="waba-1", scope=scope, kind=kind, field=field,
                  event=event, at=at, business_phone_number_id=number,
                  display_phone_number=display, severity=severity, status=status,
                  description=description, restrictions=restrictions, details=details or {})


def restricted(*types: str, until: datetime | None = LATER, scope: str = ACCOUNT,
               number: str | None = None) -> Notice:
    return notice(RESTRICTION, scope=scope, number=number,
                  restrictions=tuple(Restriction(t, until) for t in types))


def banned(state: str | list[str] | None = "DISABLE", event: str = "DISABLED_UPDATE") -> Notice:
    ban = {} if state is None else {"ban_info": {"waba_ban_state": state,
                                                 "waba_ban_date": "2026-12-20"}}
    return notice(BAN, event=event, details=ban)


# -- the refusal rule -------------------------------------------------------------------------

REFUSALS = [
    # (notices, initiator, expected reason or None)
    ([], Initiator.BUSINESS, None),
    ([], Initiator.CUSTOMER, None),
    ([restricted(BIZ_INITIATED)], Initiator.BUSINESS, RefusalReason.ACCOUNT_RESTRICTED),
    ([restricted(BIZ_INITIATED)], Initiator.CUSTOMER, None),
    ([restricted(CUSTOMER_INITIATED)], Initiator.CUSTOMER, RefusalReason.ACCOUNT_RESTRICTED),
    ([restricted(CUSTOMER_INITIATED)], Initiator.BUSINESS, None),
    ([restricted(BIZ_INITIATED, CUSTOMER_INITIATED)], Initiator.BUSINESS,
     RefusalReason.ACCOUNT_RESTRICTED),
    ([restricted(BIZ_INITIATED, CUSTOMER_INITIATED)], Initiator.CUSTOMER,
     RefusalReason.ACCOUNT_RESTRICTED),
    ([restricted(ADD_PHONE_NUMBER)], Initiator.BUSINESS, None),
    ([restricted(ADD_PHONE_NUMBER)], Initiator.CUSTOMER, None),
    ([restricted("RESTRICTED_SOMETHING_NEW")], Initiator.BUSINESS, None),
    # Expired: at the expiration itself the restriction is over.
    ([restricted(BIZ_INITIATED, until=NOW)], Initiator.BUSINESS, None),
    ([restricted(BIZ_INITIATED, until=NOW - timedelta(days=1))], Initiator.BUSINESS, None),
    ([restricted(BIZ_INITIATED, until=NOW + timedelta(seconds=1))], Initiator.BUSINESS,
     RefusalReason.ACCOUNT_RESTRICTED),
    # No expiration: until Meta replaces the notice.
    ([restricted(BIZ_INITIATED, until=None)], Initiator.BUSINESS,
     RefusalReason.ACCOUNT_RESTRICTED),
    # A number's own restriction applies to it, another number's does not.
    ([restricted(BIZ_INITIATED, scope=number_scope(NUMBER), number=NUMBER)],
     Initiator.BUSINESS, RefusalReason.ACCOUNT_RESTRICTED),
    ([restricted(BIZ_INITIATED, scope=number_scope(OTHER_NUMBER), number=OTHER_NUMBER)],
     Initiator.BUSINESS, None),
    # A disabled account refuses everything, before any restriction.
    ([banned("DISABLE")], Initiator.BUSINESS, RefusalReason.ACCOUNT_DISABLED),
    ([banned("DISABLE")], Initiator.CUSTOMER, RefusalReason.ACCOUNT_DISABLED),
    ([banned(["DISABLE"])], Initiator.CUSTOMER, RefusalReason.ACCOUNT_DISABLED),
    ([banned(None)], Initiator.CUSTOMER, RefusalReason.ACCOUNT_DISABLED),
    ([restricted(BIZ_INITIATED), banned("DISABLE")], Initiator.BUSINESS,
     RefusalReason.ACCOUNT_DISABLED),
    ([banned(None, event="ACCOUNT_BANNED")], Initiator.CUSTOMER, RefusalReason.ACCOUNT_DISABLED),
    ([banned(None, event="ACCOUNT_DELETED")], Initiator.CUSTOMER,
     RefusalReason.ACCOUNT_DISABLED),
    # Scheduled, reinstated: sending works.
    ([banned("SCHEDULE_FOR_DISABLE")], Initiator.CUSTOMER, None),
    ([banned("REINSTATE")], Initiator.BUSINESS, None),
    ([banned(None, event="ACCOUNT_REINSTATED")], Initiator.BUSINESS, None),
    # Warnings only.
    ([notice(QUALITY, event="FLAGGED", field="phone_number_quality_update")],
     Initiator.BUSINESS, None),
    ([notice(VIOLATION, event="ACCOUNT_VIOLATION")], Initiator.BUSINESS, None),
    ([notice("alert:OBA_REJECTED", event="OBA_REJECTED", field="account_alerts",
             severity="CRITICAL", status="ACTIVE")], Initiator.CUSTOMER, None),
    ([notice(CAPABILITY, event="CAPABILITY", field="business_capability_update")],
     Initiator.BUSINESS, None),
]


@pytest.mark.parametrize(("notices", "initiator", "reason"), REFUSALS)
def test_the_refusal_rule(notices: list[Notice], initiator: Initiator,
                          reason: RefusalReason | None) -> None:
    refused = refusal(notices, phone_number_id=NUMBER, initiator=initiator, now=NOW)
    assert (refused.reason if refused else None) == reason
    if refused is not None:
        assert refused.message
        assert refused.hint


def test_a_restriction_refusal_says_metas_words_and_when_it_ends() -> None:
    refused = refusal([restricted(BIZ_INITIATED)], phone_number_id=NUMBER,
                      initiator=Initiator.BUSINESS, now=NOW)
    assert refused is not None
    assert BIZ_INITIATED in refused.message
    assert "12 Dec 2026 14:00 UTC" in refused.message
    assert "12 Dec 2026 14:00 UTC" in refused.hint
    replies = refusal([restricted(CUSTOMER_INITIATED, until=None)], phone_number_id=NUMBER,
                      initiator=Initiator.CUSTOMER, now=NOW)
    assert replies is not None
    assert CUSTOMER_INITIATED in replies.message
    assert "until Meta lifts it" in replies.message


def test_a_disabled_account_refusal_names_metas_event() -> None:
    refused = refusal([banned("DISABLE")], phone_number_id=NUMBER,
                      initiator=Initiator.CUSTOMER, now=NOW)
    assert refused is not None
    assert "DISABLED_UPDATE" in refused.message


@pytest.mark.parametrize(("notices", "needed"), [
    ([], False),
    ([banned("DISABLE")], False),  # refuses whoever initiates
    ([restricted(ADD_PHONE_NUMBER)], False),
    ([restricted(BIZ_INITIATED)], True),
    ([restricted(CUSTOMER_INITIATED)], True),
    ([restricted(BIZ_INITIATED, until=NOW)], False),
    ([restricted(BIZ_INITIATED, scope=number_scope(OTHER_NUMBER))], False),
])
def test_the_window_is_needed_only_for_a_restriction_in_force(notices: list[Notice],
                                                                needed: bool) -> None:
    assert needs_initiator(notices, NUMBER, NOW) is needed


# -- the banners ------------------------------------------------------------------------------


def test_a_biz_initiated_restriction_is_a_critical_banner_until_it_expires() -> None:
    [banner] = banners([restricted(BIZ_INITIATED)], NOW)
    assert banner.level == "critical"
    assert banner.blocks is Blocks.BUSINESS_INITIATED
    assert banner.expires_at == LATER
    assert banner.text.startswith("This WhatsApp Business account cannot start conversations "
                                  "with templates until 12 Dec 2026 14:00 UTC: Meta restricted "
                                  "business-initiated messaging")
    assert banner.code == BIZ_INITIATED
    assert banners([restricted(BIZ_INITIATED)], LATER) == []


def test_each_restriction_is_its_own_banner_and_expired_ones_go() -> None:
    mixed = notice(RESTRICTION, restrictions=(
        Restriction(BIZ_INITIATED, LATER), Restriction(CUSTOMER_INITIATED, LATER),
        Restriction(ADD_PHONE_NUMBER, LATER), Restriction("RESTRICTED_X", NOW)))
    shown = banners([mixed], NOW)
    assert sorted(b.code for b in shown) == sorted([BIZ_INITIATED, CUSTOMER_INITIATED,
                                                    ADD_PHONE_NUMBER])
    assert shown[-1].code == ADD_PHONE_NUMBER  # a warning after the critical ones
    assert len({b.id for b in shown}) == 3
    by_code = {b.code: b for b in shown}
    assert by_code[CUSTOMER_INITIATED].blocks is Blocks.CUSTOMER_INITIATED
    assert by_code[ADD_PHONE_NUMBER].level == "warning"
    assert by_code[ADD_PHONE_NUMBER].blocks is None
    assert "Sending is not affected" in by_code[ADD_PHONE_NUMBER].text


def test_a_numbers_restriction_names_the_number() -> None:
    [banner] = banners([restricted(BIZ_INITIATED, scope=number_scope(NUMBER), number=NUMBER)],
                       NOW)
    assert banner.text.startswith(f"The number +{NUMBER} cannot start conversations")
    assert banner.business_phone_number_id == NUMBER


@pytest.mark.parametrize(("state", "level", "blocks", "lasts"), [
    ("DISABLE", "critical", Blocks.ALL, None),
    ("SCHEDULE_FOR_DISABLE", "warning", None, None),
    ("REINSTATE", "info", None, SHOWN_FOR),
])
def test_ban_states(state: str, level: str, blocks: Blocks | None,
                    lasts: timedelta | None) -> None:
    [banner] = banners([banned(state)], NOW)
    assert (banner.level, banner.blocks) == (level, blocks)
    assert banner.expires_at == (None if lasts is None else banned(state).at + lasts)
    assert f"DISABLED_UPDATE: {state}" in banner.text


def test_a_scheduled_disable_says_when() -> None:
    [banner] = banners([banned("SCHEDULE_FOR_DISABLE")], NOW)
    assert "on 20 Dec 2026 00:00 UTC" in banner.text


@pytest.mark.parametrize(("event", "level", "expires"), [
    ("FLAGGED", "warning", False),
    ("UNFLAGGED", "info", True),
    ("DOWNGRADE", "warning", True),
    ("UPGRADE", "info", True),
    ("THROUGHPUT_UPGRADE", "info", True),
    ("ONBOARDING", "info", True),
])
def test_number_quality(event: str, level: str, expires: bool) -> None:
    quality = notice(QUALITY, event=event, field="phone_number_quality_update",
                     scope=display_scope("15550007171"), display="15550007171",
                     details={"current_limit": "TIER_1K"})
    [banner] = banners([quality], NOW)
    assert banner.level == level
    assert banner.blocks is None
    assert (banner.expires_at is not None) is expires
    assert "+15550007171" in banner.text
    if event in ("DOWNGRADE", "UPGRADE"):
        assert "to TIER_1K" in banner.text


def test_a_flag_stays_until_the_next_quality_event() -> None:
    flagged = notice(QUALITY, event="FLAGGED", field="phone_number_quality_update",
                     at=NOW - timedelta(days=30))
    assert [b.code for b in banners([flagged], NOW)] == ["FLAGGED"]


def test_news_is_shown_for_a_week() -> None:
    violation = notice(VIOLATION, event="ACCOUNT_VIOLATION",
                       details={"violation_info": {"violation_type": "SCAM"}})
    [banner] = banners([violation], NOW)
    assert (banner.level, banner.code) == ("warning", "SCAM")
    assert banners([violation], violation.at + SHOWN_FOR) == []


@pytest.mark.parametrize(("limit", "shown"), [(2000, "2000 customers"),
                                              (-1, "unlimited customers"), (None, None)])
def test_a_capability_update(limit: int | None, shown: str | None) -> None:
    details = {} if limit is None else {"max_daily_conversations_per_business": limit}
    capability = notice(CAPABILITY, event="CAPABILITY", field="business_capability_update",
                        details=details)
    [banner] = banners([capability], NOW)
    assert banner.level == "info"
    if shown:
        assert shown in banner.text
    else:
        assert "messaging limits" in banner.text


@pytest.mark.parametrize(("severity", "status", "level"), [
    ("CRITICAL", "ACTIVE", "critical"), ("WARNING", None, "warning"),
    ("INFORMATIONAL", "ACTIVE", "info"), (None, "ACTIVE", "warning"),
    ("CRITICAL", "NONE", None),
])
def test_account_alerts(severity: str | None, status: str | None, level: str | None) -> None:
    alert = notice("alert:OBA_REJECTED", event="OBA_REJECTED", field="account_alerts",
                   severity=severity, status=status,
                   description="Your request for an official business account was rejected.")
    shown = banners([alert], NOW)
    if level is None:
        assert shown == []
    else:
        [banner] = shown
        assert banner.level == level
        assert banner.text == ("Your request for an official business account was rejected. "
                               "(OBA_REJECTED)")
        assert (banner.expires_at is None) is (level != "info")


def test_other_account_updates_are_news() -> None:
    [banner] = banners([notice("update:VERIFIED_ACCOUNT", event="VERIFIED_ACCOUNT")], NOW)
    assert banner.level == "info"
    assert "VERIFIED_ACCOUNT" in banner.text


def test_banners_are_most_severe_first_then_newest() -> None:
    old_news = notice(VIOLATION, event="ACCOUNT_VIOLATION", at=NOW - timedelta(days=2))
    new_news = notice("update:X", event="X", at=NOW - timedelta(hours=2))
    shown = banners([old_news, new_news, restricted(BIZ_INITIATED), banned("DISABLE")], NOW)
    assert [b.level for b in shown] == ["critical", "critical", "warning", "info"]


# -- reading a stored notice ------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-12-12T14:00:00+0000", LATER),
    ("2026-12-12T14:00:00Z", LATER),
    ("2026-12-12T14:00:00", LATER),
    (int(LATER.timestamp()), LATER),
    (str(int(LATER.timestamp())), LATER),
    (LATER.replace(tzinfo=None), LATER),
    (None, None), ("", None), ("soon", None), (True, None), ([], None),
])
def test_meta_time(value: object, expected: datetime | None) -> None:
    assert meta_time(value) == expected


def test_a_document_reads_back_as_its_notice() -> None:
    doc = {"_id": "x", "tenant_id": "acme", "waba_id": "waba-1", "scope": ACCOUNT,
           "kind": RESTRICTION, "field": "account_update", "event": "account_restriction",
           "restrictions": [{"restriction_type": "restricted_biz_initiated_messaging",
                             "expiration": LATER.replace(tzinfo=None)}, "junk"],
           "at": NOW.replace(tzinfo=None), "details": {"a": 1}, "severity": "warning"}
    read = Notice.from_document(doc)
    assert read.restrictions == (Restriction(BIZ_INITIATED, LATER),)
    assert (read.event, read.at, read.severity) == ("ACCOUNT_RESTRICTION", NOW, "WARNING")
    assert read.id == notice_id("acme", "waba-1", ACCOUNT, RESTRICTION)
    assert read.applies_to(NUMBER)
    assert Notice.from_document({}).at == datetime.fromtimestamp(0, UTC)


def test_the_sender_reads_only_the_notices_that_can_refuse() -> None:
    assert refusing_ids("acme", "waba-1", NUMBER) == [
        "acme:waba-1:account:restriction", "acme:waba-1:account:ban",
        f"acme:waba-1:number:{NUMBER}:restriction", f"acme:waba-1:number:{NUMBER}:ban"]


def test_when() -> None:
    assert when(LATER) == "12 Dec 2026 14:00 UTC"
    assert display_scope("+1 555-000 7171") == "display:15550007171"
