"""Adapters other than the database's: Kafka (commands out, conversation changes in) and the
Cloud API (media proxy, template management). Each implements a feature's ``ports.py``; the
features' MongoDB code is their ``repository.py``."""
