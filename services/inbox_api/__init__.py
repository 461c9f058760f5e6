"""inbox_api: the agents' HTTP API (docs/inbox-api.md) and the web inbox it serves."""
