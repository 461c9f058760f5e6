"""The adapters: Cloud API over httpx, MongoDB, Kafka."""
