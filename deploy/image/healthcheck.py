"""The image's HEALTHCHECK: GET /healthz on the port of the entry this container runs.

``inbox-healthcheck [PORT]``. Without PORT, the port is the first of the services' own port
settings present in the environment (every entry sets its own in docker-compose.yml and the
manifests), else inbox_api's default. Standard library only: it runs every few seconds.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from collections.abc import Mapping, Sequence

# The variables each entry reads for the port that serves /healthz, in no particular priority:
# a container runs one entry, so at most one of them is set.
PORT_VARIABLES = (
    "WEBHOOK_INGEST_PORT",
    "INBOX_API_PORT",
    "CONVERSATION_STORE_PORT",
    "OUTBOUND_SENDER_PORT",
    "SANDBOX_PORT",
)
DEFAULT_PORT = 8081


def health_url(argv: Sequence[str], environ: Mapping[str, str]) -> str:
    """The URL to probe: the port given on the command line, else the entry's own port."""
    if argv:
        port = int(argv[0])
    else:
        port = next((int(environ[v]) for v in PORT_VARIABLES if environ.get(v)), DEFAULT_PORT)
    return f"http://127.0.0.1:{port}/healthz"


def main(argv: Sequence[str], environ: Mapping[str, str]) -> int:
    try:
        with urllib.request.urlopen(health_url(argv, environ), timeout=3) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], os.environ))
