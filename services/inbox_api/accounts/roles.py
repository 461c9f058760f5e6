"""Who may do what, pure: admins manage templates, campaigns, channels, keys and people; agents
work conversations (and read templates, send them)."""

from __future__ import annotations

from services.inbox_api.accounts.credentials import Identity
from services.inbox_api.errors import Forbidden


def require_admin(identity: Identity) -> Identity:
    """The caller if an admin, else 403 ``admin_only`` naming the role needed."""
    if identity.role != "admin":
        raise Forbidden("Only an admin can do this; your role is 'agent'. Ask an admin of "
                        "your team.", code="admin_only", required_role="admin")
    return identity
