"""The media archiver: customers' media downloaded from Meta on arrival and kept (docs/media.md).

Its own consumer group beside the store's fold, in the same process: ``rules.py`` (pure: which
messages carry media, the size and type policy, the retry schedule), ``archiver.py`` (the use
case and batch handler), ``ports.py``, ``adapters/`` (MongoDB and GridFS) and ``main.py`` (its
composition root, a ConsumerService that conversation_store's ``main.py`` runs).
"""
