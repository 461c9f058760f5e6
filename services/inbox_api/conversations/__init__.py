"""Conversations: the list, threads, commands on a conversation, live changes and media.

Read top to bottom: ``routes.py`` (HTTP) -> ``service.py`` (reads) and ``commands.py``
(pre-checked commands) -> pure ``views.py``, ``cursors.py``, ``stream.py`` -> ``ports.py``, which
``repository.py`` (MongoDB) and ``adapters/`` (Kafka, the Cloud API's media) implement.
"""
