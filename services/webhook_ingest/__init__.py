"""webhook_ingest: Meta's webhook endpoint. Verifies, normalizes and durably publishes webhooks."""
