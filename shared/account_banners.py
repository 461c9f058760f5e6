"""The banner every agent of the tenant sees at the top of the inbox: Meta's account and number
notices (``shared/account_health.py``) in Meta's words plus what they mean for sends. Pure: the
notices and ``now`` are passed in. Which sends a notice refuses is ``shared/account_policy.py``;
a banner names it (``blocks``) in the same words.

Notices that report a change rather than a state (a violation, a limit change, an informational
alert, a reinstatement) are shown for :data:`SHOWN_FOR` after Meta's time; a restriction until
its expiration; a disabled account, a scheduled disable, a flagged number and an active alert
until Meta's next notice of that kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from shared.account_health import (
    ACCOUNT,
    BAN,
    CAPABILITY,
    QUALITY,
    RESTRICTION,
    VIOLATION,
    Notice,
    Restriction,
    meta_time,
)
from shared.account_policy import (
    ADD_PHONE_NUMBER,
    BIZ_INITIATED,
    CUSTOMER_INITIATED,
    active,
    ban_state,
    until_text,
    when,
)

SHOWN_FOR = timedelta(days=7)
CRITICAL, WARNING, INFO = "critical", "warning", "info"
_LEVEL_ORDER = {CRITICAL: 0, WARNING: 1, INFO: 2}


class Blocks(StrEnum):
    """Which sends a banner's notice refuses."""

    ALL = "all"
    BUSINESS_INITIATED = "business_initiated"
    CUSTOMER_INITIATED = "customer_initiated"


@dataclass(frozen=True, slots=True)
class Banner:
    """One line at the top of the inbox: ``text`` in Meta's words plus what it means."""

    id: str
    level: str  # critical | warning | info
    title: str
    text: str
    code: str  # Meta's event, restriction or alert type
    at: datetime  # Meta's time of the notice
    expires_at: datetime | None  # when it goes away by itself (None: when Meta says so)
    waba_id: str
    business_phone_number_id: str | None = None
    display_phone_number: str | None = None
    blocks: Blocks | None = None


def _subject(notice: Notice) -> str:
    number = notice.display_phone_number or notice.business_phone_number_id
    if notice.scope != ACCOUNT and number:
        return f"The number {('+' + number) if number.isdigit() else number}"
    return "This WhatsApp Business account"



def banners(notices: Iterable[Notice], now: datetime) -> list[Banner]:
    """What every agent of the tenant sees now: most severe first, then newest."""
    shown = [b for n in notices for b in _banners_of(n, now)
             if b.expires_at is None or now < b.expires_at]
    return sorted(shown, key=lambda b: (_LEVEL_ORDER.get(b.level, 3), -b.at.timestamp(), b.id))


def _banner(notice: Notice, level: str, title: str, text: str, code: str, *,
            expires_at: datetime | None, blocks: Blocks | None = None,
            suffix: str = "") -> Banner:
    return Banner(id=notice.id + (f":{suffix}" if suffix else ""), level=level, title=title,
                  text=text, code=code, at=notice.at, expires_at=expires_at,
                  waba_id=notice.waba_id,
                  business_phone_number_id=notice.business_phone_number_id,
                  display_phone_number=notice.display_phone_number, blocks=blocks)


def _banners_of(notice: Notice, now: datetime) -> list[Banner]:
    brief = notice.at + SHOWN_FOR
    subject = _subject(notice)
    if notice.kind == RESTRICTION:
        return [_restriction_banner(notice, r, subject) for r in notice.restrictions
                if active(r, now)]
    if notice.kind == BAN:
        return [_ban_banner(notice, subject, brief)]
    if notice.kind == VIOLATION:
        info = notice.details.get("violation_info")
        kind = info.get("violation_type") if isinstance(info, Mapping) else None
        code = str(kind) if kind else notice.event
        return [_banner(notice, WARNING, "Policy violation",
                        f"{subject} was found violating a WhatsApp policy ({code}): repeated "
                        "violations lead Meta to restrict messaging.", code, expires_at=brief)]
    if notice.kind == QUALITY:
        return [_quality_banner(notice, subject, brief)]
    if notice.kind == CAPABILITY:
        return [_capability_banner(notice, brief)]
    if notice.kind.startswith("alert:"):
        return _alert_banners(notice, subject, brief)
    text = notice.description or f"Meta updated {subject[0].lower()}{subject[1:]}."
    return [_banner(notice, INFO, "Account update", f"{text} ({notice.event})", notice.event,
                    expires_at=brief)]


def _restriction_banner(notice: Notice, restriction: Restriction, subject: str) -> Banner:
    kind, until = restriction.restriction_type, until_text(restriction.expiration)

    def shown(level: str, title: str, text: str, blocks: Blocks | None = None) -> Banner:
        return _banner(notice, level, title, text, kind or notice.event,
                       expires_at=restriction.expiration, blocks=blocks, suffix=kind)

    if kind == BIZ_INITIATED:
        return shown(CRITICAL, "Business-initiated messaging restricted",
                     f"{subject} cannot start conversations with templates {until}: Meta "
                     f"restricted business-initiated messaging ({kind}). Replies inside a "
                     "customer's 24-hour window still go.", Blocks.BUSINESS_INITIATED)
    if kind == CUSTOMER_INITIATED:
        return shown(CRITICAL, "Replies to customers restricted",
                     f"{subject} cannot reply to customers {until}: Meta restricted "
                     f"customer-initiated messaging ({kind}). Templates to customers outside "
                     "their 24-hour window still go.", Blocks.CUSTOMER_INITIATED)
    if kind == ADD_PHONE_NUMBER:
        return shown(WARNING, "Adding numbers restricted",
                     f"{subject} cannot add phone numbers {until}: Meta restricted adding "
                     f"numbers ({kind}). Sending is not affected.")
    return shown(WARNING, "Account restricted",
                 f"{subject} is restricted {until}: Meta reported the restriction {kind}.")


def _ban_banner(notice: Notice, subject: str, brief: datetime) -> Banner:
    state = ban_state(notice)
    ban = notice.details.get("ban_info")
    date = meta_time(ban.get("waba_ban_date")) if isinstance(ban, Mapping) else None
    code = f"{notice.event}: {state}" if notice.event == "DISABLED_UPDATE" else notice.event
    if state == "DISABLE":
        return _banner(notice, CRITICAL, "Account disabled",
                       f"{subject} was disabled by Meta ({code}): no message can be sent. An "
                       "admin can request a review in WhatsApp Manager.", code,
                       expires_at=None, blocks=Blocks.ALL)
    if state == "SCHEDULE_FOR_DISABLE":
        on = f" on {when(date)}" if date else ""
        return _banner(notice, WARNING, "Account to be disabled",
                       f"Meta will disable {subject[0].lower()}{subject[1:]}{on} ({code}) "
                       "unless its policy violations are resolved.", code, expires_at=None)
    return _banner(notice, INFO, "Account reinstated",
                   f"Meta reinstated {subject[0].lower()}{subject[1:]} ({code}): sending works "
                   "again.", code, expires_at=brief)


_QUALITY = {
    "FLAGGED": (WARNING, "Number quality low",
                "{subject} has a low quality rating (FLAGGED): if it does not improve within "
                "7 days, Meta may lower its messaging limit. Sending is not affected."),
    "UNFLAGGED": (INFO, "Number quality restored",
                  "{subject} is no longer flagged for low quality (UNFLAGGED)."),
    "DOWNGRADE": (WARNING, "Messaging limit lowered",
                  "Meta lowered the messaging limit of {subject_lower}{limit} (DOWNGRADE) "
                  "because of its quality rating."),
    "UPGRADE": (INFO, "Messaging limit raised",
                "Meta raised the messaging limit of {subject_lower}{limit} (UPGRADE)."),
    "THROUGHPUT_UPGRADE": (INFO, "Throughput raised",
                           "{subject} can now send up to 1,000 messages per second "
                           "(THROUGHPUT_UPGRADE)."),
}


def _quality_banner(notice: Notice, subject: str, brief: datetime) -> Banner:
    limit = notice.details.get("current_limit")
    level, title, template = _QUALITY.get(notice.event, (
        INFO, "Number update", "Meta updated {subject_lower} ({event}){limit}."))
    text = template.format(subject=subject, subject_lower=subject[0].lower() + subject[1:],
                           limit=f" to {limit}" if limit else "", event=notice.event)
    # A flag is a state: shown until Meta sends the next quality event for the number.
    return _banner(notice, level, title, text, notice.event,
                   expires_at=None if notice.event == "FLAGGED" else brief)


def _capability_banner(notice: Notice, brief: datetime) -> Banner:
    limit = notice.details.get("max_daily_conversations_per_business",
                               notice.details.get("max_daily_conversation_per_phone"))
    if limit is None:
        text = "Meta updated this business's messaging limits (business_capability_update)."
    else:
        count = "unlimited customers" if str(limit) == "-1" else f"{limit} customers"
        text = (f"Meta set this business's messaging limit to {count} per 24 hours outside "
                "their windows (business_capability_update).")
    return _banner(notice, INFO, "Messaging limit", text, notice.event or "CAPABILITY",
                   expires_at=brief)


_SEVERITY = {"CRITICAL": CRITICAL, "WARNING": WARNING, "INFORMATIONAL": INFO}


def _alert_banners(notice: Notice, subject: str, brief: datetime) -> list[Banner]:
    if notice.status not in (None, "ACTIVE"):
        return []  # Meta says the alert no longer holds
    level = _SEVERITY.get(notice.severity or "", WARNING)
    text = notice.description or f"Meta raised an alert about {subject[0].lower()}{subject[1:]}."
    return [_banner(notice, level, "Meta alert", f"{text} ({notice.event})", notice.event,
                    expires_at=brief if level == INFO else None)]
