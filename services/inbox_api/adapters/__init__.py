"""Adapters: MongoDB queries, Kafka commands and changes, the Cloud API media proxy."""
