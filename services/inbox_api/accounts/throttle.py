"""Sign-in throttling, pure: after too many failed password sign-ins in a window, per email and
per client address, the next attempt waits (429 with Retry-After) until the oldest counted
failure leaves the window. A success clears the email's count (not the client's: one address
trying many emails stays throttled). The same rule throttles every other credential that is
refused (a bearer API key, a session cookie, a sign-in link), per client and per the
credential's prefix (``credential:<first characters>``), with the per-email limit.

Failures are stored per key (``email:<address>``, ``client:<host>``) as their times; these
functions decide on those times and an injected ``now``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``failures`` failed sign-ins within ``window``."""

    failures: int
    window: timedelta


# Five wrong passwords for one email in 15 minutes; a client (an office behind one address has
# several people mistyping) gets more before it waits.
PER_EMAIL = Limit(5, timedelta(minutes=15))
PER_CLIENT = Limit(20, timedelta(minutes=15))


def email_key(email: str) -> str:
    return f"email:{email.strip().casefold()}"


def client_key(host: str) -> str:
    return f"client:{host}"


# Enough of a credential to tell one guessed at repeatedly from the rest, never enough to use it.
PREFIX_LENGTH = 12


def credential_key(secret: str) -> str:
    return f"credential:{secret[:PREFIX_LENGTH]}"


def limit_of(key: str) -> Limit:
    """A client's limit for ``client:`` keys, else the per-email (per-credential) one."""
    return PER_CLIENT if key.startswith("client:") else PER_EMAIL


def _recent(failures: Sequence[datetime], limit: Limit, now: datetime) -> list[datetime]:
    return sorted(at for at in failures if now - limit.window < at <= now)


def retry_after(failures: Sequence[datetime], limit: Limit, now: datetime) -> int | None:
    """Whole seconds to wait before another attempt, or None when one may be made now."""
    recent = _recent(failures, limit, now)
    if len(recent) < limit.failures:
        return None
    frees_at = recent[-limit.failures] + limit.window
    return max(1, math.ceil((frees_at - now).total_seconds()))


def after_failure(failures: Sequence[datetime], limit: Limit, now: datetime) -> list[datetime]:
    """The failures to keep once another one happened at ``now`` (only those that still count)."""
    return [*_recent(failures, limit, now), now][-limit.failures:]


def wait_message(seconds: int, what: str = "sign-ins for this email") -> str:
    minutes = math.ceil(seconds / 60)
    when = f"{minutes} minute{'s' if minutes != 1 else ''}" if seconds >= 60 else \
        f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"Too many failed {what} or from this address; try again in {when}."
