"""Status precedence: a message's status never moves backwards, whatever order statuses arrive in.

Every status is kept in the message's history; the shown status is the highest-ranked one.
``read`` may come without ``delivered`` (Meta skips it when the message is read at once), a late
``sent`` after ``read`` is recorded but shown status stays ``read``, and ``failed`` (or a policy
refusal) outranks everything so the error stays visible. Statuses Meta adds later are recorded
with rank -1: kept, never shown over a known one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from services.conversation_store.documents import ErrorInfo, StatusEntry

RANK: dict[str, int] = {
    "unknown": 0,  # the sender cannot tell whether Meta got it; any real status overrides this
    "accepted": 1,
    "sent": 2,
    "delivered": 3,
    "read": 4,
    "played": 5,  # a voice message's first play: after read
    "failed": 6,
    "refused": 6,
}

# What the sender said about a command; a later "accepted" beats an earlier "unknown". A status
# Meta sends for the command's message says it too (proven_outcome): a send in doubt resolves.
OUTCOME_RANK: dict[str, int] = {"unknown": 0, "refused": 1, "failed": 2, "accepted": 3}


def rank(status: str) -> int:
    return RANK.get(status, -1)


def merge(history: Iterable[StatusEntry], entry: StatusEntry) -> list[StatusEntry]:
    """The history with ``entry`` added once (same status at the same time is a duplicate)."""
    entries = list(history)
    if any(e.status == entry.status and e.at == entry.at for e in entries):
        return entries
    entries.append(entry)
    return sorted(entries, key=lambda e: (e.at, rank(e.status), e.status))


def effective(history: Iterable[StatusEntry]) -> StatusEntry | None:
    """The status to show: the highest rank; among equals, the first time it was reached."""
    best: StatusEntry | None = None
    for entry in history:
        if best is None or (rank(entry.status), best.at) > (rank(best.status), entry.at):
            best = entry
    return best


def shown(history: list[StatusEntry]) -> tuple[str | None, datetime | None, ErrorInfo | None]:
    """(status, its time, its error) for the message document."""
    best = effective(history)
    if best is None:
        return None, None, None
    return best.status, best.at, best.error


def proven_outcome(status: str) -> str:
    """What a status from Meta proves about the send: Meta had it ("accepted"; any status but
    ``failed`` means a wamid Meta is delivering), or could not deliver it ("failed")."""
    return "failed" if status == "failed" else "accepted"


def better_outcome(current: str | None, new: str) -> bool:
    """Whether ``new`` replaces ``current`` as the message's send outcome."""
    return current is None or OUTCOME_RANK.get(new, -1) >= OUTCOME_RANK.get(current, -1)
