"""Meta's error envelope and the codes the sandbox answers with.

Every refusal is a :class:`CloudApiError` carrying Meta's code; the router renders it as
``{"error": {"message", "type", "code", "error_data": {"messaging_product", "details"},
"fbtrace_id"}}``. HTTP statuses follow Meta's usual ones (400 for bad requests and policy
refusals, 401 for tokens, 5xx for server trouble); 130429 and 131056 answer 429 with
``Retry-After``. Clients must key on ``code`` (Meta's own advice), never on the HTTP status.

Graph-level refusals shared by every endpoint: 190 (:func:`bad_token`, the same body on every
route), 100 with subcode 33 (:func:`unsupported_request`: an unknown object, or a method it does
not support), 2500 (:func:`unknown_path`: an edge or version that does not exist), 100 for a
``fields=`` name the node lacks (:func:`nonexisting_field`).
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson

# code -> (title, HTTP status, type)
ERROR_TABLE: dict[int, tuple[str, int, str]] = {
    0: ("AuthException", 401, "OAuthException"),
    1: ("An unknown error occurred", 500, "OAuthException"),
    2: ("Service temporarily unavailable", 503, "OAuthException"),
    4: ("Application request limit reached", 400, "OAuthException"),
    10: ("Permission denied", 403, "OAuthException"),
    100: ("Invalid parameter", 400, "OAuthException"),
    190: ("Invalid OAuth access token - Cannot parse access token", 401, "OAuthException"),
    2500: ("Unknown path components", 400, "OAuthException"),
    368: ("Temporarily blocked for policies violations", 403, "OAuthException"),
    80007: ("Rate limit issues", 400, "OAuthException"),
    130429: ("Rate limit hit", 429, "OAuthException"),
    131000: ("Something went wrong", 500, "OAuthException"),
    131005: ("Access denied", 403, "OAuthException"),
    131008: ("Required parameter is missing", 400, "OAuthException"),
    131009: ("Parameter value is not valid", 400, "OAuthException"),
    131016: ("Service unavailable", 503, "OAuthException"),
    131021: ("Recipient cannot be sender", 400, "OAuthException"),
    131026: ("Message undeliverable", 400, "OAuthException"),
    131031: ("Account has been locked", 403, "OAuthException"),
    131042: ("Business eligibility payment issue", 400, "OAuthException"),
    131045: ("Incorrect certificate", 400, "OAuthException"),
    131047: ("Re-engagement message", 400, "OAuthException"),
    131048: ("Spam rate limit hit", 400, "OAuthException"),
    131049: ("This message was not delivered to maintain healthy ecosystem engagement.", 400,
             "OAuthException"),
    131050: ("Unable to deliver the message. This recipient has chosen to stop receiving "
             "marketing messages on WhatsApp from your business", 400, "OAuthException"),
    131051: ("Unsupported message type", 400, "OAuthException"),
    131052: ("Media download error", 400, "OAuthException"),
    131053: ("Media upload error", 400, "OAuthException"),
    131056: ("(Business Account, Consumer Account) pair rate limit hit", 429, "OAuthException"),
    131057: ("Account in maintenance mode", 503, "OAuthException"),
    132000: ("Number of parameters does not match the expected number of params", 400,
             "OAuthException"),
    132001: ("Template name does not exist in the translation", 400, "OAuthException"),
    132005: ("Translated text too long", 400, "OAuthException"),
    132007: ("Template Format Character Policy Violated", 400, "OAuthException"),
    132012: ("Parameter format does not match format in the created template", 400,
             "OAuthException"),
    132015: ("Template is Paused", 400, "OAuthException"),
    132016: ("Template is Disabled", 400, "OAuthException"),
    133004: ("Server Temporarily Unavailable", 503, "OAuthException"),
    133010: ("Phone number Not Registered", 400, "OAuthException"),
}
UNKNOWN_OBJECT_SUBCODE = 33


class CloudApiError(Exception):
    """A refusal in Meta's terms: code, title, details, and the HTTP status it travels with."""

    def __init__(self, code: int, details: str = "", *, http_status: int | None = None,
                 retry_after: int | None = None, title: str | None = None,
                 error_type: str | None = None, subcode: int | None = None) -> None:
        known = ERROR_TABLE.get(code, ("Unknown error", 400, "OAuthException"))
        self.code = code
        self.title = title or known[0]
        self.details = details
        self.http_status = http_status or known[1]
        self.error_type = error_type or known[2]
        self.retry_after = retry_after
        self.subcode = subcode
        super().__init__(f"({code}) {self.title}: {details}")

    def envelope(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": f"(#{self.code}) {self.title}",
            "type": self.error_type,
            "code": self.code,
            "error_data": {"messaging_product": "whatsapp", "details": self.details},
            "fbtrace_id": _trace_id(),
        }
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        return {"error": error}

    def body(self) -> bytes:
        return orjson.dumps(self.envelope())

    def headers(self) -> list[tuple[bytes, bytes]]:
        out = [(b"www-authenticate", b'OAuth "Facebook Platform" "invalid_token"')] \
            if self.http_status == 401 else []
        if self.retry_after is not None:
            out.append((b"retry-after", str(self.retry_after).encode()))
        return out


def _trace_id() -> str:
    return "A" + secrets.token_urlsafe(16)


def unsupported_request(method: str, object_id: str) -> CloudApiError:
    """Meta's answer for an object it does not know, or a method the object does not support."""
    verb = method.lower()
    return CloudApiError(
        100,
        f"Unsupported {verb} request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation.",
        title=f"Unsupported {verb} request", error_type="GraphMethodException",
        subcode=UNKNOWN_OBJECT_SUBCODE,
    )


def unknown_number(phone_number_id: str) -> CloudApiError:
    """Meta's answer for a send to an id it does not know (or that the token cannot see)."""
    return unsupported_request("post", phone_number_id)


def unknown_path(components: str) -> CloudApiError:
    """An edge (or a path) the Graph API does not have."""
    return CloudApiError(2500, f"Unknown path components: {components}")


def nonexisting_field(field: str, node_type: str) -> CloudApiError:
    """A ``fields=`` selection naming a field the object does not have."""
    return CloudApiError(
        100, f"Tried accessing nonexisting field ({field}) on node type ({node_type})")


def bad_token() -> CloudApiError:
    return CloudApiError(190, "Invalid OAuth access token.")


def missing(param: str) -> CloudApiError:
    return CloudApiError(131008, f"The parameter {param} is required.")


def invalid(detail: str) -> CloudApiError:
    return CloudApiError(131009, detail)


def unknown_param(param: str) -> CloudApiError:
    return CloudApiError(100, f"Param {param} is not a valid parameter.")
