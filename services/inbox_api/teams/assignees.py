"""Who a conversation's ``assignee_id`` names, pure: an agent id, or a team as ``team:<id>``.

A team rides in the same field as an agent (one field, one index: the list's "mine",
"unassigned" and team filters are all equality on ``assignee_id``), so conversation_store and
the assignment command need no second field.
"""

from __future__ import annotations

TEAM_PREFIX = "team:"
# Who assigned a conversation when the rotation did (``assigned_by``).
ROUND_ROBIN_ACTOR = "round-robin"


def team_assignee(team_id: str) -> str:
    return f"{TEAM_PREFIX}{team_id}"


def team_of(assignee_id: str | None) -> str | None:
    """The team id an assignee names, else None (an agent, or nobody)."""
    if assignee_id and assignee_id.startswith(TEAM_PREFIX) and len(assignee_id) > len(TEAM_PREFIX):
        return assignee_id[len(TEAM_PREFIX):]
    return None
