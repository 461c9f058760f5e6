"""HTTP routes of webhook_ingest."""
