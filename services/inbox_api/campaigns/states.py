"""Which action is allowed in which campaign state, and where it leads. Pure."""

from __future__ import annotations

from shared.campaigns import CANCELLED, DRAFT, PAUSED, RUNNING, SCHEDULED

# action -> {from state: to state}. Repeating an action in its target state is a no-op.
TRANSITIONS: dict[str, dict[str, str]] = {
    "schedule": {DRAFT: SCHEDULED, SCHEDULED: SCHEDULED},
    "unschedule": {SCHEDULED: DRAFT},
    "start": {DRAFT: RUNNING, SCHEDULED: RUNNING},
    "pause": {RUNNING: PAUSED, SCHEDULED: PAUSED},
    "cancel": {DRAFT: CANCELLED, SCHEDULED: CANCELLED, RUNNING: CANCELLED, PAUSED: CANCELLED},
}
IDEMPOTENT = {"start": RUNNING, "pause": PAUSED, "resume": RUNNING, "cancel": CANCELLED}
EDITABLE = frozenset({DRAFT, SCHEDULED})


class StateConflict(ValueError):
    """The action is not allowed in the campaign's state."""

    def __init__(self, action: str, state: str) -> None:
        super().__init__(f"A {state} campaign cannot {action}.")
        self.state = state


def next_state(action: str, state: str, *, started: bool = False,
               has_schedule: bool = False) -> str | None:
    """The state after ``action``; None when it changes nothing (already there)."""
    if action == "resume":
        if state == PAUSED:
            return RUNNING if started or not has_schedule else SCHEDULED
        if state in (RUNNING, SCHEDULED):
            return None
        raise StateConflict(action, state)
    target = TRANSITIONS[action].get(state)
    if target is None:
        if IDEMPOTENT.get(action) == state:
            return None
        raise StateConflict(action, state)
    return None if target == state and action != "schedule" else target
