"""Never twice: the send ledger's records and what they mean (pure), and its port.

Every record is an insert of a document with a deterministic ``_id``; a unique ``_id`` is the only
arbiter, so two replicas (or a restarted process) can never both send one command, and no
transaction or conditional update is needed. Per command (``key = "{tenant}:{command_id}"``):

* ``send_attempts/{key}``: the claim of attempt 1, written just before the call; or, for a send
  decided without calling Meta (refused, unknown number), that decision, holding the outcome.
* ``send_retries/a{n}:{key}``: the claim of attempt n >= 2.
* ``send_retries/r{n}:{key}``: attempt n came back not accepted (Meta's error, or never sent):
  nothing is in flight; anyone may claim attempt n + 1 from ``retry_at``.
* ``send_outcomes/{key}``: the outcome event after at least one call; the first one stored wins.

A claim holds a lease: its owner is calling Meta until ``lease_until`` at the latest (the HTTP
deadline plus a margin). A claim with no retry mark and no outcome after its lease means the
owner died between the call and its record: the outcome is unknown and is reported as such, never
resent (:func:`assess`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


def attempt_key(tenant_id: str, command_id: str) -> str:
    """The ledger key of a command. Tenant ids never contain ``:`` (they are slugs)."""
    return f"{tenant_id}:{command_id}"


@dataclass(frozen=True, slots=True)
class Claim:
    """Attempt ``attempt`` of a command is (being) made by ``owner``; or a decision (outcome)."""

    key: str
    attempt: int
    claim_id: str
    owner: str
    at: datetime
    lease_until: datetime | None
    # A decision taken without calling Meta: the outcome event (JSON), final.
    outcome: str | None = None


@dataclass(frozen=True, slots=True)
class RetryMark:
    """Attempt ``attempt`` was not accepted; nothing is in flight; next try from ``retry_at``."""

    key: str
    attempt: int
    retry_at: datetime
    at: datetime
    code: int | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """The stored outcome event of a command (JSON, published byte for byte on a replay)."""

    key: str
    event_json: str
    event_type: str


@dataclass(frozen=True, slots=True)
class LedgerView:
    """What the ledger holds for one command: its claim, its latest attempt, its outcome."""

    claim: Claim | None = None
    latest: Claim | None = None
    retry: RetryMark | None = None
    outcome: Outcome | None = None


@dataclass(frozen=True, slots=True)
class Fresh:
    """Nothing recorded: make attempt 1."""


@dataclass(frozen=True, slots=True)
class Done:
    """An outcome is recorded: publish it again (same event id), send nothing."""

    event_json: str


@dataclass(frozen=True, slots=True)
class Wait:
    """A live owner holds the latest attempt: look again at ``until`` (or sooner)."""

    until: datetime


@dataclass(frozen=True, slots=True)
class Doubt:
    """The latest attempt's owner vanished mid-call: the outcome is unknown. Never resend."""

    attempt: int


@dataclass(frozen=True, slots=True)
class Resume:
    """The latest attempt definitely failed: attempt ``attempt`` may be claimed from
    ``not_before``."""

    attempt: int
    not_before: datetime


Verdict = Fresh | Done | Wait | Doubt | Resume


def assess(view: LedgerView, now: datetime) -> Verdict:
    """What to do with a command given its ledger records, at ``now``."""
    if view.outcome is not None:
        return Done(view.outcome.event_json)
    if view.claim is not None and view.claim.outcome is not None:
        return Done(view.claim.outcome)
    latest = view.latest or view.claim
    if latest is None:
        return Fresh()
    if view.retry is not None and view.retry.attempt == latest.attempt:
        return Resume(latest.attempt + 1, view.retry.retry_at)
    if latest.lease_until is not None and now < latest.lease_until:
        return Wait(latest.lease_until)
    return Doubt(latest.attempt)


class Ledger(Protocol):
    """The send ledger (MongoDB in production). Every write is an insert; ``_id`` decides."""

    async def claim(self, claim: Claim) -> bool:
        """Insert the claim. True if it is ours (inserted now, or earlier by us: same
        ``claim_id``); False if another claim holds that attempt."""

    async def record_retry(self, mark: RetryMark) -> None:
        """Insert the retry mark (a repeat of the same mark is a no-op)."""

    async def record_outcome(self, outcome: Outcome) -> Outcome:
        """Insert the outcome; returns the stored one (ours, or the one recorded first)."""

    async def view(self, key: str) -> LedgerView:
        """Read every record of ``key``."""
