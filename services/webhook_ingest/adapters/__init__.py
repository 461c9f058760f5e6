"""Adapters of webhook_ingest to its external systems (Kafka)."""
