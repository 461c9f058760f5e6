"""A campaign's schedule: a local wall time in an IANA time zone -> the UTC instant. Pure."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ScheduleError(ValueError):
    """The schedule cannot be used; the message says why."""


def to_utc(local: str, time_zone: str, now: datetime) -> datetime:
    """``"2026-12-01T09:00"`` in ``"Europe/Berlin"`` -> aware UTC; must be after ``now``.

    A local time skipped by a DST change (02:30 on a spring-forward night) is refused rather than
    guessed; a repeated one (autumn) means its first occurrence, as people read a clock.
    """
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"Unknown time zone {time_zone!r} (use an IANA name such as "
                            "Europe/Berlin).") from None
    try:
        wall = datetime.fromisoformat(local)
    except ValueError:
        raise ScheduleError(f"{local!r} is not a date and time like 2026-12-01T09:00.") from None
    if wall.tzinfo is not None:
        raise ScheduleError("Give the local time without an offset; the time zone says where.")
    aware = wall.replace(tzinfo=zone, fold=0)
    instant = aware.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != wall:
        raise ScheduleError(f"{local} does not exist in {time_zone} (the clocks skip it).")
    if instant <= now:
        raise ScheduleError("The scheduled time is in the past.")
    return instant
