"""A request's readable action name, pure: ``POST /conversations/{conversation_id}/messages``
is ``conversation.reply``.

Named routes come from :data:`NAMED`; any other route is named by its shape (the resource, then
the verb or the method's meaning), so a route added later is audited under a sensible name
without an edit here. Calls that change nothing an admin asks about (typing indicators, read
markers, previews, presence heartbeats) return None and are not recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

API_PREFIX = "/api/v1"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SIGN_IN = ("POST", "/session")

NAMED: dict[tuple[str, str], str] = {
    ("POST", "/session"): "session.sign_in",
    ("DELETE", "/session"): "session.sign_out",
    ("POST", "/conversations"): "conversation.start",
    ("POST", "/conversations/{conversation_id}/messages"): "conversation.reply",
    ("POST", "/conversations/{conversation_id}/reactions"): "conversation.react",
    ("POST", "/conversations/{conversation_id}/attachments"): "conversation.send_attachment",
    ("POST", "/conversations/{conversation_id}/assignee"): "conversation.assign",
    ("POST", "/conversations/{conversation_id}/status"): "conversation.status",
    ("POST", "/conversations/{conversation_id}/notes"): "conversation.note",
    ("POST", "/conversations/{conversation_id}/labels/{label_id}"): "conversation.label",
    ("DELETE", "/conversations/{conversation_id}/labels/{label_id}"): "conversation.unlabel",
    ("PUT", "/conversations/{conversation_id}/labels"): "conversation.set_labels",
    ("POST", "/media/{media_id}/retry"): "media.retry",
    ("POST", "/templates/sync"): "template.sync",
    ("POST", "/campaigns/{campaign_id}/recipients"): "campaign.upload_recipients",
    ("PUT", "/campaigns/{campaign_id}/schedule"): "campaign.schedule",
    ("DELETE", "/campaigns/{campaign_id}/schedule"): "campaign.unschedule",
    ("POST", "/agents/invitations"): "agent.invite",
    ("POST", "/invitations/{token}"): "agent.accept_invitation",
    ("PUT", "/round-robin/me"): "round_robin.update_mine",
    ("DELETE", "/keys/{key_id}"): "key.revoke",
}
# Last path words that are not actions: live hints and reads done with a POST.
NOT_ACTIONS = frozenset({"typing", "read", "preview", "presence"})
_VERBS = {"POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}
_NESTED_VERBS = {"POST": "add", "PUT": "set", "PATCH": "update", "DELETE": "remove"}
_IRREGULAR = {"canned-replies": "canned_reply", "round-robin": "round_robin",
              "media": "media", "keys": "key", "status": "status"}


def singular(word: str) -> str:
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    word = word.replace("-", "_")
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def route_path(template: str) -> str:
    """The route template without the API's prefix."""
    return template.removeprefix(API_PREFIX) or "/"


def action_name(method: str, template: str,
                body: Mapping[str, Any] | None = None) -> str | None:
    """The action a successful ``method`` on ``template`` did, or None when it is no action."""
    method = method.upper()
    if method not in MUTATING:
        return None
    path = route_path(template)
    parts = [p for p in path.split("/") if p]
    if not parts or (parts[-1] in NOT_ACTIONS) or path.endswith("/mentions/read"):
        return None
    named = NAMED.get((method, path))
    if named == "conversation.status" and body and body.get("status") in ("resolved", "open"):
        return "conversation.resolve" if body["status"] == "resolved" else "conversation.reopen"
    if named:
        return named
    resource = singular(parts[0])
    literals = [p for p in parts[1:] if not p.startswith("{")]
    if not literals:
        return f"{resource}.{_VERBS[method]}"
    last = parts[-1]
    if last.startswith("{"):  # /teams/{id}/members/{agent_id}: a sub-resource
        return f"{resource}.{_NESTED_VERBS[method]}_{singular(literals[-1])}"
    if method == "POST" and len(literals) == 1:  # /campaigns/{id}/pause: a verb
        return f"{resource}.{literals[0].replace('-', '_')}"
    return f"{resource}.{_NESTED_VERBS[method]}_{singular(last)}"


def target(path_params: Mapping[str, Any]) -> dict[str, str]:
    """What the action was done to: the route's path parameters, secrets left out."""
    return {k: str(v)[:200] for k, v in path_params.items() if k not in ("token",)}
