"""Which requests are Meta's Graph API, which versions the sandbox serves, and Meta's answer for
a path or a method it does not serve. Pure: no I/O.

Every path that is not the sandbox's own (the control API under ``/_sandbox``, the operator
endpoints, FastAPI's docs) is a Graph API path: it answers in Meta's error envelope, never
FastAPI's ``{"detail": ...}``. The first segment is the version (``/v25.0/...``); the sandbox
serves the versions Meta serves (:data:`SUPPORTED_VERSIONS`) and answers any other with Meta's
``2500`` "Unknown path components", so a client configured with a retired or mistyped version
fails here as it would at Meta.
"""

from __future__ import annotations

import re

from sandbox.errors import CloudApiError, unknown_path, unsupported_request

# Graph API versions Meta serves as of this writing (each lives about two years; v19.0 is the
# oldest still answered, v26.0 the newest). Update when Meta retires or releases one.
SUPPORTED_VERSIONS = frozenset(f"v{major}.0" for major in range(19, 27))
VERSION_SHAPE = re.compile(r"v[0-9]+\.[0-9]+")

# The sandbox's own paths: FastAPI's answers there are not Meta's.
_OWN_PREFIXES = ("/_sandbox", "/healthz", "/readyz", "/metrics", "/docs", "/openapi.json")

# Edges of the objects the sandbox knows; another edge is "Unknown path components".
KNOWN_EDGES = frozenset({"messages", "media", "whatsapp_business_profile",
                         "message_templates", "phone_numbers"})


def is_graph_path(path: str) -> bool:
    """True for a path of Meta's API (versioned or not), False for the sandbox's own."""
    return not path.startswith(_OWN_PREFIXES)


def version_refusal(version: str) -> CloudApiError | None:
    """Meta's answer for a version it does not serve; None for one it does."""
    if version in SUPPORTED_VERSIONS:
        return None
    served = sorted(SUPPORTED_VERSIONS, key=lambda v: float(v[1:]))
    return CloudApiError(
        2500, f"Unknown path components: /{version[:40]}: the Graph API version is not served "
        f"(this sandbox serves {served[0]} to {served[-1]}).")


def first_segment(path: str) -> str:
    """``v25.0`` of ``/v25.0/123/messages``."""
    start = 1 if path.startswith("/") else 0
    end = path.find("/", start)
    return path[start:] if end < 0 else path[start:end]


def unrouted(method: str, path: str) -> CloudApiError:
    """Meta's answer for a Graph path or method no endpoint serves.

    An unknown object, or a known edge with a method it lacks, is "Unsupported {method}
    request" (100, subcode 33); an edge that does not exist is 2500.
    """
    parts = [p for p in path.split("/") if p]
    if not parts or not VERSION_SHAPE.fullmatch(parts[0]):
        return unknown_path("/" + "/".join(parts)[:200])
    if len(parts) == 1:
        return unknown_path("/")
    object_id = parts[1][:100]
    if len(parts) == 2 or (len(parts) == 3 and parts[2] in KNOWN_EDGES):
        return unsupported_request(method, object_id)
    return unknown_path("/" + "/".join(parts[2:])[:200])
